"""LangGraph: a tool node whose every call waits for a reviewer in `reviewer`.

`ReviewedToolNode(tools, gate)` takes the place of LangGraph's `ToolNode`. For each tool call
of the last AI message it asks the gate, then:
- approve: runs the tool as called;
- edit (a reviewer changed the arguments): runs it with the edited arguments;
- reject (a reviewer, a policy, the deadline, or an unreachable queue): runs nothing and
  returns a tool message with the feedback, so the model hears why.

Two ways to wait:
- `wait="block"` (the default) blocks inside the node until the decision;
- `wait="interrupt"` queues the calls and pauses the graph with `interrupt()`; the thread is
  checkpointed, and `resume_when_decided(graph, config, gate)` (in this process or another,
  after a restart) waits for the decisions and resumes it with `Command(resume=...)`.

`review_hitl_request` answers LangChain's human-in-the-loop middleware shapes
(`action_requests` in, `decisions` out) from the same queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.types import Command, interrupt

from ..gate import Gate, GateDecision, call_hash, digest

RESUME_KEY = "reviewer"  # the interrupt's payload: {"reviewer": [{"item_id", "tool", "arguments"}]}


def _item_id(call: dict[str, Any]) -> str:
    """The queue item of one tool call of this run of the node: the thread and the task
    (LangGraph's `thread_id` and `checkpoint_ns`, the same when the node runs again on
    resume), the call's id, and a hash of the call, so another thread, task or call that
    reuses the call id is another item."""
    where = get_config().get("configurable", {})
    scope = digest([where.get("thread_id"), where.get("checkpoint_ns")])
    return f"langgraph-{scope}-{call['id']}-{call_hash(call['name'], call['args'])}"


class ReviewedToolNode:
    """A LangGraph node (a callable over the graph state) that runs the last AI message's tool
    calls once a reviewer approved them; see the module docstring."""

    def __init__(self, tools: Sequence[BaseTool], gate: Gate | None = None, *,
                 wait: Literal["block", "interrupt"] = "block", queue: str = "langgraph",
                 risk: str | None = None, timeout_s: float | None = None, messages_key: str = "messages") -> None:
        self.tools = {t.name: t for t in tools}
        self.gate = gate or Gate(agent="langgraph")
        self.wait, self.queue, self.risk, self.timeout_s = wait, queue, risk, timeout_s
        self.key = messages_key

    def __call__(self, state: dict[str, Any]) -> dict[str, Any]:
        ai = state[self.key][-1]
        if not isinstance(ai, AIMessage) or not ai.tool_calls:
            return {self.key: []}
        history = [{"role": m.type, "content": m.content} for m in state[self.key][-20:]
                   if isinstance(m.content, str) and m.content]
        calls: list[dict[str, Any]] = [dict(c) for c in ai.tool_calls]
        decisions = self._decide(calls, history)
        return {self.key: [self._run(call, decisions[call["id"]]) for call in calls]}

    def _decide(self, calls: list[dict[str, Any]], history: list[dict[str, Any]]) -> dict[str, GateDecision]:
        if self.wait == "block":
            return {c["id"]: self.gate.request(c["name"], c["args"], queue=self.queue, risk=self.risk,
                                               timeout_s=self.timeout_s, messages=history) for c in calls}
        # queued once (idempotent by the item id: the node runs again on resume), then paused
        pending = [{"item_id": self.gate.submit(c["name"], c["args"], item_id=_item_id(c), queue=self.queue,
                                                risk=self.risk, timeout_s=self.timeout_s, messages=history),
                    "tool": c["name"], "arguments": c["args"], "call_id": c["id"]} for c in calls]
        answers = interrupt({RESUME_KEY: pending})
        return {p["call_id"]: _answer(answers, p) for p in pending}

    def _run(self, call: dict[str, Any], d: GateDecision) -> ToolMessage:
        if not d.approved:
            return ToolMessage(d.feedback, tool_call_id=call["id"], name=call["name"], status="error")
        tool = self.tools.get(call["name"])
        if tool is None:
            return ToolMessage(f"No tool named {call['name']!r}.", tool_call_id=call["id"], name=call["name"],
                               status="error")
        result = tool.invoke(d.arguments)
        return ToolMessage(result if isinstance(result, str) else str(result), tool_call_id=call["id"],
                           name=call["name"])


def _answer(answers: Any, pending: dict[str, Any]) -> GateDecision:
    """The resume value's decision on one queued call; a rejection unless it is the decision
    of that call's own item."""
    try:
        d = GateDecision.model_validate(answers[pending["call_id"]])
    except (KeyError, TypeError, ValueError) as e:
        cause = f"the graph was resumed without a decision for this call ({type(e).__name__})"
    else:
        if d.item_id == pending["item_id"]:
            return d
        cause = f"the graph was resumed with the decision of item {d.item_id}, not of {pending['item_id']}"
    return Gate._closed(pending["tool"], pending["arguments"], cause, pending["item_id"])


def resume_when_decided(graph: Any, config: dict[str, Any], gate: Gate | None = None) -> Any:
    """Resume a thread paused by `ReviewedToolNode(wait="interrupt")`: wait for each queued
    call's decision (a deadline or an unreachable queue rejects), then
    `graph.invoke(Command(resume=...), config)`. Returns what that invoke returns; None when
    the thread is not waiting on a review."""
    gate = gate or Gate(agent="langgraph")
    waiting = [i.value[RESUME_KEY] for i in graph.get_state(config).interrupts
               if isinstance(i.value, dict) and RESUME_KEY in i.value]
    if not waiting:
        return None
    answers = {p["call_id"]: gate.outcome(p["item_id"], p["tool"], p["arguments"]).model_dump(mode="json")
               for pending in waiting for p in pending}
    return graph.invoke(Command(resume=answers), config)


def review_hitl_request(request: dict[str, Any], gate: Gate | None = None, *, queue: str = "langgraph",
                        timeout_s: float | None = None) -> dict[str, Any]:
    """LangChain's human-in-the-loop middleware request (`action_requests`: name, args,
    description) answered from the queue, as its response (`decisions`: approve, edit with
    `edited_action`, or reject with the feedback as `message`), one per action, in order."""
    gate = gate or Gate(agent="langgraph")
    decisions: list[dict[str, Any]] = []
    for action in request.get("action_requests", []):
        d = gate.request(action["name"], action.get("args") or {}, queue=queue, timeout_s=timeout_s,
                         rationale=action.get("description"))
        if not d.approved:
            decisions.append({"type": "reject", "message": d.feedback})
        elif d.verdict == "correct":
            decisions.append({"type": "edit", "edited_action": {"name": action["name"], "args": d.arguments}})
        else:
            decisions.append({"type": "approve"})
    return {"decisions": decisions}
