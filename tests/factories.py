"""Small item builders for tests."""

from __future__ import annotations

from typing import Any

from reviewer.models import ActionItem, OutputItem, parse_item

HOSTILE = [
    "[bold]bold?[/bold] [/] [link=https://evil.example]click[/link] [@click=app.approve('x')]go[/]",
    "\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x1b]52;c;ZXZpbA==\x07 clipboard",
    "ctrl \x00\x01\x07\x08\x0b\x0c\x7f\x9b c1",
    "bidi \u202eevil\u202c \u2066iso\u2069",
]


def output(i: int | str = 1, **kw: Any) -> OutputItem:
    data: dict[str, Any] = {
        "kind": "output",
        "id": f"out-{i}",
        "queue": "q1",
        "output": f"answer number {i}",
        "flags": [{"reason": "judge.faithfulness", "score": 0.2}],
        "input": {"messages": [{"role": "user", "content": f"question {i}"}]},
    }
    data.update(kw)
    return parse_item(data)  # type: ignore[return-value]


def action(i: int | str = 1, **kw: Any) -> ActionItem:
    data: dict[str, Any] = {
        "kind": "action",
        "id": f"act-{i}",
        "queue": "agents",
        "risk": "high",
        "action": {"tool": "issue_refund", "arguments": {"order_id": str(i), "amount": 10.0}},
        "timeout_s": 600,
    }
    data.update(kw)
    return parse_item(data)  # type: ignore[return-value]


def pending_action(db, item_id: str | None = None, within_s: float = 60.0):
    """Waits for an agent's pending action (`item_id`, or the first) in the SQLite queue at
    `db`: (the queue, its id), or None after `within_s`."""
    import time

    from reviewer.models import ItemFilter
    from reviewer.storage import SqlQueue

    q = None
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if db.exists():
            q = q or SqlQueue.open(f"sqlite:///{db}")
            ids = [r.id for r in q.list_items(ItemFilter(kind="action", status=["pending"]))]
            if ids and (item_id is None or item_id in ids):
                return q, item_id or ids[0]
        time.sleep(0.05)
    return None
