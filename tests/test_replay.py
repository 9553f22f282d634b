"""Drift replay: golden inputs re-run, what changed queued with the golden answer as reference."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.models import ItemFilter
from reviewer.replay import replay, similarity
from reviewer.storage import SqlQueue


def golden(i: str, question: str, answer: str) -> str:
    return json.dumps({"id": i, "input": {"messages": [{"role": "system", "content": "Be precise."},
                                                        {"role": "user", "content": question}]},
                       "expected_output": answer, "context": {}, "metadata": {}})


LINES = [
    golden("g1", "Leave days?", "Employees accrue 30 days of leave per year."),
    golden("g2", "Expenses?", "Submit expenses in Concur within 30 days."),
    golden("g3", "Refunds?", "We refund within 14 days of delivery."),
    '{"id": "g4", "input": ',
    golden("g5", "Crash?", "irrelevant"),
]
TODAY = {  # what today's model answers
    "Leave days?": "Employees accrue 30 days of leave per year.",
    "Expenses?": "Submit expenses in Concur within 30 days!",  # near enough
    "Refunds?": "Absolutely! We offer a 90-day no-questions-asked refund.",
}


def test_replay_queues_what_changed_with_the_golden_answer_as_reference(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'r.db'}")
    seen: list[list[dict]] = []

    def complete(messages):
        seen.append(messages)
        question = messages[-1]["content"]
        if question == "Crash?":
            raise TimeoutError("provider timed out")
        return TODAY[question], 0.001

    r = replay(LINES, complete, q, run="nightly", model="m1", threshold=0.9, concurrency=2)
    assert (r.unchanged, r.changed, list(r.failed)) == (2, 1, ["g5"])
    assert r.bad_lines and r.bad_lines[0].startswith("line 4:")
    assert round(r.cost_usd, 4) == 0.003
    [item] = q.get_many([x.id for x in q.list_items(ItemFilter(queue="replay-nightly"))])
    assert item.id == "replay-nightly-g3" and item.item.reference == "We refund within 14 days of delivery."
    assert item.item.output.startswith("Absolutely!") and item.item.flags[0].reason == "drift.changed"
    assert seen[0][0] == {"role": "system", "content": "Be precise."}
    # a second run of the same golden file on the same run name changes nothing
    again = replay(LINES, complete, q, run="nightly", model="m1")
    assert again.changed == 1 and q.count(ItemFilter(queue="replay-nightly")) == 1
    assert similarity("a  b", "a b") == 1.0


def test_replay_command_runs_litellm_and_prints_a_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "c.db"))
    path = tmp_path / "golden.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    r = CliRunner().invoke(cli, ["replay", str(path), "--model", "openai/gpt-4o-mini", "--run", "dry",
                                 "--mock-response", "Employees accrue 30 days of leave per year."])
    assert r.exit_code == 0, r.output
    assert "unchanged 1, changed 3 (queued to replay-dry), failed 0; cost $0.0000" in r.output
    assert "skipped line 4:" in r.output
    again = CliRunner().invoke(cli, ["replay", str(path), "--model", "openai/gpt-4o-mini", "--run", "dry",
                                     "--mock-response", "Something else entirely."])
    # the three already queued by this run name are not replaced (and said so); the fourth is new
    assert "changed 1 (queued to replay-dry), failed 3" in again.output
    assert "give this run its own --run name" in again.output
    tools = tmp_path / "tool-calls.jsonl"
    tools.write_text('{"id": "a", "tool": "x"}\n')
    bad = CliRunner().invoke(cli, ["replay", str(tools), "--model", "m", "--mock-response", "x"])
    assert bad.exit_code == 1 and "nothing to replay" in bad.output
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'c.db'}")
    assert q.count(ItemFilter(queue="replay-dry")) == 4


def test_replay_without_a_key_says_what_to_set_before_running_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "golden.jsonl"
    path.write_text("\n".join(LINES[:2]) + "\n")
    db = f"sqlite:///{tmp_path / 'k.db'}"
    r = CliRunner().invoke(cli, ["--db", db, "replay", str(path), "--model", "openai/gpt-4o-mini"])
    assert r.exit_code != 0 and "openai/gpt-4o-mini needs OPENAI_API_KEY" in r.output
    assert "replaying" not in r.output
