"""`reviewer report`, checked against figures computed by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.export import decided_items
from reviewer.models import DecisionIn, QueueSettings
from reviewer.report import build, cohen_kappa, wilson
from reviewer.storage import SqlQueue

from factories import output


def decide(q, item_id, who, verdict, reasons=(), ms=None):
    q.decide(item_id, DecisionIn(verdict=verdict, reviewer=who, reasons=list(reasons), duration_ms=ms,
                                 correction="fixed" if verdict == "correct" else None))


@pytest.fixture
def q(tmp_path, clock):
    clock.now = datetime(2026, 11, 18, 12, tzinfo=UTC)  # a Wednesday of ISO week 47
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    flag = lambda s: [{"reason": "judge.faithfulness", "score": s}]  # noqa: E731
    queue.enqueue_many([output(i, flags=flag(s)) for i, s in ((1, 0.1), (2, 0.2), (3, 0.3), (4, 0.9))])
    decide(queue, "out-1", "alice", "reject", ["hallucination"], ms=4000)
    decide(queue, "out-2", "alice", "correct", ["wrong_numbers"], ms=10000)
    decide(queue, "out-3", "alice", "approve", ms=2000)
    decide(queue, "out-4", "alice", "approve", ms=3000)
    # a queue where two reviewers decide each output
    queue.set_queue_settings("k2", QueueSettings(reviews_per_item=2), actor="admin")
    queue.enqueue_many([output(f"k{i}", queue="k2", flags=[{"reason": "user.thumbs_down"}]) for i in range(1, 5)])
    for item, a, b in (("k1", "approve", "approve"), ("k2", "reject", "reject"), ("k3", "approve", "reject"),
                       ("k4", "reject", "reject")):
        decide(queue, f"out-{item}", "alice", a, ["tone"] if a == "reject" else [])
        decide(queue, f"out-{item}", "bob", b, ["tone"] if b == "reject" else [])
    decide(queue, "out-k3", "carol", "reject", ["format"])  # adjudicates the dispute
    yield queue
    queue.close()


def test_wilson_and_kappa_by_hand():
    low, high = wilson(2, 4)
    assert (round(low, 3), round(high, 3)) == (0.150, 0.850)
    # alice: A R A R; bob: A R R R -> observed 3/4, chance (2*1 + 2*3)/16 = 1/2, kappa 1/2
    assert cohen_kappa(["a", "r", "a", "r"], ["a", "r", "r", "r"]) == pytest.approx(0.5)
    assert cohen_kappa(["r"], ["r"]) is None  # chance agreement certain: undefined
    assert cohen_kappa([], []) is None


def test_report_figures_match_the_hand_computed_ones(q):
    r = build(decided_items(q))
    faith = next(f for f in r.flags if f.reason == "judge.faithfulness")
    assert (faith.flagged, faith.confirmed, faith.overturned, faith.precision) == (4, 2, 2, 0.5)
    assert faith.suggested_threshold is None  # 4 scored items: too few to suggest one
    thumbs = next(f for f in r.flags if f.reason == "user.thumbs_down")
    assert (thumbs.flagged, thumbs.confirmed, thumbs.overturned) == (4, 3, 1)  # k1 approved; k2-k4 rejected
    assert r.failure_modes["q1"] == {"2026-W47": {"hallucination": 1, "wrong_numbers": 1}}
    assert r.failure_modes["k2"] == {"2026-W47": {"tone": 2, "format": 1}}
    alice = next(x for x in r.reviewers if x.reviewer == "alice")
    assert (alice.decisions, alice.median_ms) == (8, 3500)  # durations 4, 10, 2, 3 s: median 3.5 s
    pairs = {(a.a, a.b): (a.items, a.kappa) for a in r.agreement}
    assert pairs[("alice", "bob")] == (4, pytest.approx(0.5))
    assert pairs[("alice", "carol")] == (1, 0.0) and pairs[("bob", "carol")] == (1, None)


def test_suggested_threshold_once_there_are_enough_scored_decisions(tmp_path, clock):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 't.db'}", clock=clock)
    # scores 0.05..0.6: below 0.45 humans confirm 9 in 9; above, they overturn
    scores = [0.05 * i for i in range(1, 13)]
    q.enqueue_many([output(i, flags=[{"reason": "judge.x", "score": s}]) for i, s in enumerate(scores)])
    for i, s in enumerate(scores):
        decide(q, f"out-{i}", "alice", "reject" if s < 0.46 else "approve", ["hallucination"] if s < 0.46 else [])
    fig = build(decided_items(q)).flags[0]
    # scores 0.05..0.45 (9 items) all confirmed; 0.5 makes 9/10, 0.55 makes 9/11 (82%), 0.6 9/12 (75%)
    assert fig.suggested_threshold == pytest.approx(0.55)
    q.close()


def test_report_command_prints_tables_and_json(q, tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "r.db"))
    runner = CliRunner()
    r = runner.invoke(cli, ["report"])
    assert r.exit_code == 0, r.output
    assert "judge.faithfulness" in r.output and "50%" in r.output and "alice / bob" in r.output
    data = json.loads(runner.invoke(cli, ["report", "--json", "--queue", "k2"]).output)
    assert [f["reason"] for f in data["flags"]] == ["user.thumbs_down"]
