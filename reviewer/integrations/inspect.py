"""Inspect AI: `reviewer` as an approver, usable in an approval policy file.

    approvers:
      - name: reviewer/reviewer
        tools: ["bash*", "python*"]
        queue: inspect

Each tool call is queued as an action (with the text of its ToolCallView and the recent
conversation) and waits at the gate: approve runs it, an edit of its arguments runs it modified,
a reject returns the reviewer's feedback to the model. A deadline, an error or an unreachable
queue rejects; with `escalate=True`, an unreachable queue escalates to the next approver of
the policy instead.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.approval import Approval, Approver, approver
from inspect_ai.model import ChatMessage
from inspect_ai.tool import ToolCall, ToolCallView

from ..gate import Gate, GateDecision

HISTORY = 20  # messages of the conversation queued with a call


def _view_text(view: ToolCallView) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("call", "context"):
        part = getattr(view, name)
        if part is not None:
            out[f"inspect_{name}"] = {"title": part.title, "format": part.format, "content": part.content}
    return out


def to_approval(call: ToolCall, d: GateDecision, escalate: bool) -> Approval:
    """A gate decision as Inspect's approval of `call`."""
    if not d.approved:
        if d.error and escalate:
            return Approval(decision="escalate", explanation=d.feedback)
        return Approval(decision="reject", explanation=d.feedback)
    if d.verdict == "correct":
        modified = ToolCall(id=call.id, function=call.function, arguments=d.arguments, type=call.type)
        return Approval(decision="modify", modified=modified, explanation=d.feedback)
    return Approval(decision="approve", explanation=d.feedback)


def _approver_name() -> str:
    """`reviewer/reviewer` however reviewer is installed. Inspect puts the package in front of
    the name only when it finds the code installed under a distribution named like the
    package, which an editable install of reviewer-tui is not."""
    try:
        from inspect_ai._util.package import get_installed_package_name
    except ImportError:
        return "reviewer"
    return "reviewer" if get_installed_package_name(to_approval) else "reviewer/reviewer"


@approver(name=_approver_name())
def reviewer_approver(queue: str = "inspect", risk: str | None = None, timeout_s: float | None = None,
                      escalate: bool = False, db: str | None = None, url: str | None = None,
                      token: str | None = None, policy: str | None = None) -> Approver:
    """Ask a human in `reviewer` to approve each tool call (see the module docstring)."""
    gate = Gate(db, url=url, token=token, policy=policy, agent="inspect")

    async def approve(message: str, call: ToolCall, view: ToolCallView, history: list[ChatMessage]) -> Approval:
        messages = [{"role": m.role, "content": m.text} for m in history[-HISTORY:] if m.text]
        d = await gate.arequest(call.function, call.arguments, risk=risk, timeout_s=timeout_s, queue=queue,
                                rationale=message or None, messages=messages,
                                context=_view_text(view))
        return to_approval(call, d, escalate)

    return approve
