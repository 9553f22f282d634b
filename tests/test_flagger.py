"""Auto-flagging from a live app: real litellm completions (mock_response) through the
callback, the flagged ones found in the queue."""

from __future__ import annotations

import asyncio
import time

import pytest

from reviewer.models import ItemFilter
from reviewer.storage import SqlQueue

litellm = pytest.importorskip("litellm")

from reviewer.integrations.litellm import Flagger  # noqa: E402


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'f.db'}")
    yield queue
    queue.close()


def ask(question: str, answer: str, **kw):
    return litellm.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": question}],
                              mock_response=answer, **kw)


def items(q, expected: int, within_s: float = 20.0):
    """The queued outputs, once there are `expected` of them (or `within_s` passed)."""
    end = time.monotonic() + within_s
    while q.count(ItemFilter(kind="output")) < expected and time.monotonic() < end:
        time.sleep(0.05)
    return q.get_many([r.id for r in q.list_items(ItemFilter(kind="output"), limit=5000)])


def test_a_guardrail_a_judge_and_a_later_thumbs_down_flag_outputs_into_the_queue(q, monkeypatch):
    def pii(messages, output):
        return "guardrail.pii_leak" if "@" in output else None

    flagger = Flagger(queue="support-bot", guardrail=pii, judge=lambda m, o: 0.1 if "90-day" in o else 0.9,
                      threshold=0.5, sink=lambda item: q.enqueue(item, actor="litellm"))
    monkeypatch.setattr(litellm, "callbacks", [flagger])
    ask("Who ordered 55120?", "Dana (dana@example.org) ordered it.")
    ask("Can I return headphones?", "Yes, we offer a 90-day no-questions-asked refund.")
    ask("Opening hours?", "We open at 9.", metadata={"trace_id": "tr_77"})
    found = items(q, 2)
    by_reason = {i.item.flags[0].reason: i for i in found}
    assert set(by_reason) == {"guardrail.pii_leak", "judge.score"}
    pii_item = by_reason["guardrail.pii_leak"]
    assert pii_item.queue == "support-bot" and pii_item.item.output == "Dana (dana@example.org) ordered it."
    assert pii_item.item.input.messages[0].content == "Who ordered 55120?"
    assert pii_item.item.source.model == "gpt-4o-mini" and pii_item.item.source.latency_ms is not None
    assert by_reason["judge.score"].item.flags[0].score == 0.1
    assert flagger.flag_trace("tr_77") is True  # the user's thumbs-down, later
    later = [i for i in items(q, 3) if i.item.flags[0].reason == "user.thumbs_down"]
    assert len(later) == 1 and later[0].item.source.trace_id == "tr_77"
    assert flagger.flag_trace("unknown") is False


def test_the_default_sink_is_the_local_queue(tmp_path, monkeypatch):
    db = tmp_path / "app.db"
    flagger = Flagger(queue="spot", sample_rate=1.0, db=str(db))
    monkeypatch.setattr(litellm, "callbacks", [flagger])
    ask("Hi", "Hello!")
    q = SqlQueue.open(f"sqlite:///{db}")
    [item] = items(q, 1)
    assert item.item.flags[0].reason == "sample.random" and item.queue == "spot"


def test_under_load_nothing_below_the_bound_is_lost_and_drops_above_it_are_counted(q, monkeypatch):
    calls = 1000
    roomy = Flagger(sample_rate=1.0, bound=calls * 2, sink=lambda item: q.enqueue(item, actor="litellm"))
    monkeypatch.setattr(litellm, "callbacks", [roomy])

    async def burst(flagger: Flagger) -> None:
        await asyncio.gather(*(litellm.acompletion(model="gpt-4o-mini", mock_response=f"answer {i}",
                                                   messages=[{"role": "user", "content": f"q {i}"}])
                               for i in range(calls)))
        end = time.monotonic() + 30  # an app's loop keeps running: litellm calls back on it
        while flagger.seen < calls and time.monotonic() < end:
            await asyncio.sleep(0.05)

    asyncio.run(burst(roomy))
    assert len(items(q, calls, within_s=60)) == calls and roomy.dropped == 0

    slow_seen: list[str] = []

    def slow(item):
        time.sleep(0.01)
        slow_seen.append(item.id)

    tight = Flagger(sample_rate=1.0, bound=10, sink=slow)
    monkeypatch.setattr(litellm, "callbacks", [tight])
    asyncio.run(burst(tight))
    end = time.monotonic() + 30
    while len(slow_seen) + tight.dropped < calls and time.monotonic() < end:
        time.sleep(0.05)
    assert tight.dropped > 0 and len(slow_seen) + tight.dropped == calls


def test_a_failing_rule_or_queue_never_breaks_the_apps_call(monkeypatch):
    def broken(messages, output):
        raise RuntimeError("guardrail crashed")

    flagger = Flagger(guardrail=broken, sink=lambda item: None)
    monkeypatch.setattr(litellm, "callbacks", [flagger])
    response = ask("Hi", "Hello!")
    assert response.choices[0].message.content == "Hello!"
    end = time.monotonic() + 10
    while flagger.failed == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert flagger.failed == 1


def test_the_app_example_in_the_docs_flags_as_written(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "integrations.md").read_text()
    code = re.search(r"```python\n(# app\.py\n.*?)```", doc, re.S).group(1)
    db = tmp_path / "app.db"
    monkeypatch.setenv("REVIEWER_DB", str(db))
    monkeypatch.setattr(litellm, "callbacks", [])
    app: dict = {}
    exec(compile(code, "app.py", "exec"), app)
    ask("Who ordered 55120?", "Dana (dana@example.org) ordered it.")
    q = SqlQueue.open(f"sqlite:///{db}")
    [item] = items(q, 1)
    assert (item.queue, item.item.flags[0].reason) == ("support-bot", "guardrail.pii_leak")
