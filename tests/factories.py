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
