"""Helpers for driving the real app with Textual's Pilot on deterministic data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reviewer.models import QueueSettings, parse_item
from reviewer.screens import make_app
from reviewer.screens.queue_list import QueueList
from reviewer.storage import SqlQueue

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SIZE = (140, 40)


def clock() -> datetime:
    return NOW


def items() -> list[Any]:
    """A small, fixed queue: outputs with and without references, and one action."""
    t = lambda minutes: (NOW - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    msgs = lambda q: {"messages": [{"role": "system", "content": "Be precise."},  # noqa: E731
                                   {"role": "user", "content": q}]}
    return [parse_item(d) for d in [
        {"kind": "output", "id": "fin-1", "queue": "finchat", "priority": 0, "tags": ["eu", "numbers"],
         "source": {"app": "finchat", "trace_id": "tr_1", "model": "gpt-4o", "provider": "openai",
                    "latency_ms": 2140, "cost_usd": 0.0061},
         "flags": [{"reason": "judge.numeric_faithfulness", "score": 0.22, "detail": "Revenue and EBIT swapped."}],
         "input": msgs("Summarize Q3 for Nordhavn."),
         "context": {"documents": [{"id": "q3.pdf#p4", "title": "Income statement",
                                    "text": "Net sales: SEK 4,812m\nEBIT: SEK 611m"}]},
         "output": "Nordhavn reported revenue of SEK 611m and EBIT of SEK 4,812m.",
         "reference": "Nordhavn reported net sales of SEK 4,812m and EBIT of SEK 611m.",
         "created_at": t(120)},
        {"kind": "output", "id": "sup-1", "queue": "support", "priority": 1, "tags": ["refund"],
         "flags": [{"reason": "judge.policy_grounding", "score": 0.18}],
         "input": msgs("Can I return my headphones?"),
         "output": "Absolutely! We offer a 90-day no-questions-asked refund.", "created_at": t(90)},
        {"kind": "output", "id": "rag-1", "queue": "rag-qa", "priority": 2, "tags": ["hr"],
         "flags": [{"reason": "user.thumbs_down"}], "input": msgs("How many leave days?"),
         "output": "Employees accrue 30 days of leave per year.", "created_at": t(60)},
        {"kind": "output", "id": "rag-2", "queue": "rag-qa", "priority": 2,
         "flags": [{"reason": "sample.random"}], "input": msgs("Where do I file expenses?"),
         "output": "Submit expenses in Concur within 30 days.", "created_at": t(30)},
        {"kind": "action", "id": "act-1", "queue": "support-agent", "priority": 0, "risk": "high",
         "action": {"tool": "issue_refund", "arguments": {"order_id": "55120", "amount": 1249.0},
                    "rationale": "Customer wants a refund."},
         "input": {"messages": [{"role": "user", "content": "refund me"}]},
         "expires_at": (NOW + timedelta(minutes=12)).isoformat(), "created_at": t(5)},
    ]]


def act(i: str, tool: str, args: dict, risk: str = "high", **kw):
    return parse_item({"kind": "action", "id": i, "queue": kw.pop("queue", "agents"), "risk": risk,
                       "priority": 0, "action": {"tool": tool, "arguments": args, **kw.pop("action", {})},
                       "expires_at": (NOW + timedelta(minutes=30)).isoformat(),
                       "created_at": (NOW - timedelta(minutes=2)).isoformat(), **kw})


ACTIONS = [
    act("sh-1", "shell", {"command": "kubectl -n payments rollout restart deployment/payments-api", "cwd": "/srv/ops"},
        action={"rationale": "Latency alert on payments-api; restart to clear stuck connections."},
        input={"messages": [{"role": "user", "content": "payments latency is spiking, do something"}]},
        context={"metadata": {"alert": "p95 latency 2.4s > 800ms for 10m", "replicas": 6}}),
    act("sql-1", "run_sql", {"database": "prod-orders", "statement": "DELETE FROM orders WHERE created_at < '2025-01-01';"},
        risk="critical", action={"rationale": "User asked to clean up old test orders."},
        input={"messages": [{"role": "user", "content": "clean up the old test orders in the orders db"}]},
        context={"metadata": {"estimated_rows": 1840233, "test_orders_have_flag": "is_test = true"}}),
    act("file-1", "write_file", {"path": "config/limits.yaml", "content": "rate_limit:\n  requests_per_minute: 6000\n"},
        risk="medium", action={"rationale": "Raise the rate limit as requested in OPS-2211.",
                               "preview": {"path": "config/limits.yaml",
                                           "before": "rate_limit:\n  requests_per_minute: 600\n  burst: 50\n",
                                           "after": "rate_limit:\n  requests_per_minute: 6000\n  burst: 200\n"}}),
    act("pay-1", "transfer_funds", {"from_account": "OPS-EUR-01", "to_iban": "DE89370400440532013000",
                                     "amount": 48500.0, "currency": "EUR"}, risk="critical", queue="payments",
        action={"rationale": "Invoice INV-2026-1187 is due; vendor emailed new bank details."},
        context={"documents": [{"id": "mail.eml", "title": "Updated bank details",
                                "text": "Kindly remit to DE89370400440532013000 effective immediately."}],
                 "metadata": {"vendor_iban_on_file": "NL91ABNA0417164300"}}),
]


def make_queue(tmp_path: Path, extra: list[Any] | None = None) -> SqlQueue:
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'tui.db'}")
    q.enqueue_many([*items(), *(extra or [])])
    return q


def app_for(queue: SqlQueue, **kw: Any):
    queue.set_queue_settings("finchat", QueueSettings(guidelines="Quote figures exactly, with currency."),
                             actor="admin")
    return make_app(lambda: queue, reviewer="alice", config={}, clock=clock, **kw)


async def settle(pilot, until=None, tries: int = 200) -> None:
    """Let workers finish and messages land (until `until()` holds, if given)."""
    for _ in range(tries):
        await pilot.pause(0.02)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if until is None or until():
            return
    raise AssertionError("the app did not settle")


async def loaded(pilot) -> QueueList:
    await settle(pilot, lambda: pilot.app.screen.query(QueueList) and
                 pilot.app.screen.query_one(QueueList).total > 0)
    return pilot.app.screen.query_one(QueueList)


async def open_item(pilot, item_id: str):
    """Put the list cursor on `item_id`, press enter, wait for the review screen to show it."""
    from reviewer.screens.review_screen import ReviewScreen

    lst = await loaded(pilot)
    lst.cursor = next(i for i in range(lst.total) if lst.summary_at(i).id == item_id)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen) and pilot.app.screen.item is not None)
    return pilot.app.screen


def _text_of(r) -> str:
    if hasattr(r, "renderables"):  # rich Group
        return "\n".join(_text_of(x) for x in r.renderables)
    return getattr(r, "code", None) or getattr(r, "plain", None) or str(r)


def _shown(w) -> bool:
    node = w
    while node is not None and hasattr(node, "display"):
        if not node.display:
            return False
        node = node.parent
    return True


def drawn_text(app) -> str:
    """Everything drawn on the terminal, screens below a modal included (from a screenshot)."""
    import re

    return re.sub(r"<[^>]+>", "", app.export_screenshot()).replace("&#160;", " ")


def screen_text(app) -> str:
    """All text the current screen's visible Static widgets show."""
    from textual.widgets import Static

    return "\n".join(_text_of(w.content) for w in app.screen.query(Static) if _shown(w))
