"""The OpenAI Agents SDK: tool approvals answered by a reviewer in `reviewer`.

- `needs_approval(tool, gate)` is a `needs_approval` function for `function_tool`: it asks the
  gate's policy, so the calls a policy allows run without a human, and the rest pause the run.
- `run_with_review(agent, input, gate)` runs the agent; each time the run pauses on
  `result.interruptions`, every `ToolApprovalItem` is queued (with the serialized run state),
  decided, and the run resumes with `state.approve(...)` or `state.reject(...)`.
- `resume_from_queue(agent, item_id, gate)` resumes a run from the state kept with a queued
  call: a process that restarts picks up where the old one stopped.

The SDK runs an approved call with the model's own arguments and cannot pass edited ones. So
a call the reviewer approved with edited arguments is rejected, with feedback that names the
approved arguments and asks the model to call again with exactly those; that new call is then
reviewed like any other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from agents import Agent, Runner, RunState
from agents.items import ToolApprovalItem
from agents.run_context import RunContextWrapper

from ..gate import Gate, GateDecision, call_hash
from ..models import new_id

STATE_KEY = "openai_agents_state"  # where a queued call keeps the serialized run state
PAUSE_KEY = "openai_agents_pause"  # and the id of the pause it was queued in


def needs_approval(tool: str, gate: Gate) -> Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]:
    """For `function_tool(needs_approval=...)`: a human approves unless the policy allows."""

    async def check(_ctx: RunContextWrapper[Any], params: dict[str, Any], _call_id: str) -> bool:
        return gate.policy.evaluate(tool, params).action != "allow"

    return check


def _call(item: ToolApprovalItem) -> tuple[str, str, dict[str, Any]]:
    raw = item.raw_item
    name = item.tool_name or getattr(raw, "name", None) or "tool"
    call_id = getattr(raw, "call_id", None) or getattr(raw, "id", None) or name
    args = getattr(raw, "arguments", None) or "{}"
    try:
        arguments = json.loads(args) if isinstance(args, str) else dict(args)
    except ValueError:
        arguments = {"_unparsed": args}
    return str(call_id), str(name), arguments


def _item_id(pause: str, item: ToolApprovalItem) -> str:
    """The queue item of one approval: the pause of the run it came in (a new id each time a
    run pauses), the call's id and a hash of the call, so another run or call that reuses the
    call id is another item."""
    call_id, tool, arguments = _call(item)
    return f"agents-{pause}-{call_id}-{call_hash(tool, arguments)}"


def apply(state: RunState[Any, Any], item: ToolApprovalItem, d: GateDecision) -> None:
    """Record decision `d` on `item` in the run state."""
    if d.approved and d.verdict != "correct":
        state.approve(item)
        return
    if d.approved:  # edited arguments: the SDK cannot run them, so the model is asked to
        message = (f"{d.feedback} Call {_call(item)[1]} again with exactly these arguments: "
                   f"{json.dumps(d.arguments, ensure_ascii=False, sort_keys=True)}.")
    else:
        message = d.feedback
    state.reject(item, rejection_message=message)


def _submit_all(result: Any, gate: Gate, queue: str, timeout_s: float | None) -> tuple[RunState[Any, Any], list[str]]:
    state = result.to_state()
    saved = state.to_string()
    pause = new_id()[:16]
    ids = []
    for item in result.interruptions:
        _, tool, arguments = _call(item)
        ids.append(gate.submit(tool, arguments, item_id=_item_id(pause, item), queue=queue, timeout_s=timeout_s,
                               context={STATE_KEY: saved, PAUSE_KEY: pause}))
    return state, ids


async def run_with_review(agent: Agent[Any], input: str | list[Any], gate: Gate | None = None, *,
                          queue: str = "openai-agents", timeout_s: float | None = None, max_rounds: int = 20) -> Any:
    """`Runner.run(agent, input)`, with every tool approval decided in the queue."""
    import asyncio

    gate = gate or Gate(agent="openai-agents")
    result = await Runner.run(agent, input)
    for _ in range(max_rounds):
        if not result.interruptions:
            return result
        state, ids = await asyncio.to_thread(_submit_all, result, gate, queue, timeout_s)
        for item, item_id in zip(result.interruptions, ids, strict=True):
            _, tool, arguments = _call(item)
            apply(state, item, await asyncio.to_thread(gate.outcome, item_id, tool, arguments))
        result = await Runner.run(agent, state)
    return result


async def resume_from_queue(agent: Agent[Any], item_id: str, gate: Gate | None = None) -> Any:
    """Resume the run that queued `item_id`, from the state kept with it (after a restart):
    its pending approvals are decided as the queue says, then the run goes on."""
    import asyncio

    gate = gate or Gate(agent="openai-agents")
    queued = await asyncio.to_thread(gate.queue.get, item_id)
    kept = queued.item.context.metadata
    state = await RunState.from_string(agent, kept[STATE_KEY])
    pause = str(kept.get(PAUSE_KEY, ""))  # an item without one matches no call: each is rejected
    for item in state.get_interruptions():
        _, tool, arguments = _call(item)
        apply(state, item, await asyncio.to_thread(gate.outcome, _item_id(pause, item), tool, arguments))
    return await Runner.run(agent, state)
