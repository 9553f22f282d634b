"""A decision applies to the call it was made on, and to no other: an item id reused by another
thread, run or call never approves that other call, in the gate and in each framework."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from reviewer import Gate
from reviewer.models import DecisionIn, ItemFilter
from reviewer.policy import parse_policy
from reviewer.storage import SqlQueue

from factories import pending_action

SMALL = {"order_id": "1", "amount": 10.0}
HUGE = {"order_id": "1", "amount": 99999.0}


def open_gate(tmp_path: Path, **kw) -> tuple[Gate, SqlQueue]:
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    return Gate(queue=q, **kw), q


def approve(q: SqlQueue, item_id: str, **kw) -> None:
    q.decide(item_id, DecisionIn(verdict=kw.pop("verdict", "approve"), reviewer="rita", **kw))


# -- the gate ---------------------------------------------------------------------------


def test_an_approval_never_applies_to_another_call_asked_under_its_id(tmp_path):
    gate, q = open_gate(tmp_path)
    gate.submit("refund", SMALL, item_id="call_1")
    approve(q, "call_1")
    # a second caller reuses the id for a larger refund: the queue keeps the first call, and
    # the gate refuses to hand the first call's approval to the second
    gate.submit("refund", HUGE, item_id="call_1")
    assert q.get("call_1").item.action.arguments == SMALL
    d = gate.outcome("call_1", "refund", HUGE)
    assert d.approved is False and d.arguments == HUGE
    assert "different call" in (d.error or "") and "not run" in d.feedback
    other_tool = gate.outcome("call_1", "delete_account", SMALL)
    assert other_tool.approved is False and "different call" in (other_tool.error or "")
    # the call that was approved still gets its approval
    assert gate.outcome("call_1", "refund", SMALL).approved is True


def test_through_a_gateway_an_approval_never_applies_to_another_call(db_url):
    from reviewer.storage.tokens import Tokens

    from gateway import serve

    q = SqlQueue.open(db_url)
    token = Tokens(q.engine).create("bot", "agent")[0]
    with serve(q) as url:
        gate = Gate(url=url, token=token, agent="bot")
        gate.submit("refund", SMALL, item_id="call_1")
        approve(q, "call_1")
        gate.submit("refund", HUGE, item_id="call_1")
        d = gate.outcome("call_1", "refund", HUGE)
        assert d.approved is False and "different call" in (d.error or "")
        assert gate.outcome("call_1", "refund", SMALL).approved is True
    q.close()


def test_a_policy_approval_never_applies_to_another_call_asked_under_its_id(tmp_path):
    policy = parse_policy({"rule": [{"name": "small refunds", "tool": "refund", "when": ["amount <= 100"],
                                     "action": "allow"}]})
    gate, q = open_gate(tmp_path, policy=policy)
    gate.submit("refund", SMALL, item_id="call_1")
    assert gate.outcome("call_1", "refund", SMALL).decided_by_policy == "small refunds"
    gate.submit("refund", HUGE, item_id="call_1")
    d = gate.outcome("call_1", "refund", HUGE)
    assert d.approved is False and "different call" in (d.error or "")


def test_the_gate_compares_calls_by_content_and_runs_a_reviewers_edit(tmp_path):
    gate, q = open_gate(tmp_path)
    gate.submit("refund", {"order_id": "1", "amount": 10.0, "note": {"b": 1, "a": [1, 2]}}, item_id="call_1")
    q.decide("call_1", DecisionIn(verdict="correct", reviewer="rita", arguments={"order_id": "1", "amount": 5.0}))
    # the same call with its keys in another order is the same call; the edited arguments run
    d = gate.outcome("call_1", "refund", {"note": {"a": [1, 2], "b": 1}, "amount": 10.0, "order_id": "1"})
    assert d.approved is True and d.arguments == {"order_id": "1", "amount": 5.0}
    # the agent asking about the edited arguments is not the call the reviewer saw proposed
    assert gate.outcome("call_1", "refund", {"order_id": "1", "amount": 5.0}).approved is False


def test_a_call_approved_on_timeout_is_told_it_runs(tmp_path):
    policy = parse_policy({"rule": [{"name": "reads", "tool": "read_file", "action": "review", "risk": "low",
                                     "timeout_s": 0.3, "on_timeout": "approve"}]})
    gate, _ = open_gate(tmp_path, policy=policy)
    d = gate.request("read_file", {"path": "notes.txt"})
    assert d.approved is True and d.reviewer == "system"
    assert "not run" not in d.feedback and "was not" not in d.feedback
    assert "approved" in d.feedback and "no reviewer decided" in d.feedback.lower()
    # and a timeout that rejects still says the call did not run
    policy = parse_policy({"rule": [{"name": "reads", "tool": "read_file", "action": "review", "risk": "low",
                                     "timeout_s": 0.3}]})
    no = Gate(queue=gate.queue, policy=policy).request("read_file", {"path": "notes.txt"})
    assert no.approved is False and "in time" in no.feedback and "not run" in no.feedback


# -- LangGraph --------------------------------------------------------------------------


def refund_graph(gate: Gate):
    """A graph whose model asks for `refund(order_id="1", amount=N)` as tool call `call_1`, N
    from the user's message, then answers; tools behind ReviewedToolNode(wait="interrupt")."""
    pytest.importorskip("langgraph")
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, MessagesState, StateGraph

    from reviewer.integrations.langgraph import ReviewedToolNode

    received: list[dict] = []

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        received.append({"order_id": order_id, "amount": amount})
        return f"refunded {amount} on order {order_id}"

    def model(state: MessagesState) -> dict:
        if state["messages"][-1].type == "tool":
            return {"messages": [AIMessage(content="done")]}
        amount = float(state["messages"][0].content.split()[-1])
        call = {"name": "refund", "args": {"order_id": "1", "amount": amount}, "id": "call_1"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", model)
    g.add_node("tools", ReviewedToolNode([refund], gate, wait="interrupt"))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END)
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=InMemorySaver()), received


def pending(q: SqlQueue) -> list[str]:
    return [r.id for r in q.list_items(ItemFilter(kind="action", status=["pending"]))]


def test_langgraph_a_second_thread_reusing_a_call_id_waits_for_its_own_review(tmp_path):
    from reviewer.integrations.langgraph import resume_when_decided

    gate, q = open_gate(tmp_path, agent="langgraph")
    graph, received = refund_graph(gate)
    first = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"messages": [("user", "refund 10")]}, first)
    [small] = pending(q)
    approve(q, small)
    resume_when_decided(graph, first, gate)
    assert received == [SMALL]

    second = {"configurable": {"thread_id": "t2"}}
    graph.invoke({"messages": [("user", "refund 99999")]}, second)
    waiting = pending(q)
    for item_id in waiting:  # the reviewer sees the new call, and rejects it
        approve(q, item_id, verdict="reject", comment="far above the order total")
    result = resume_when_decided(graph, second, gate)
    assert received == [SMALL]  # 99999 never ran on the approval of 10
    assert [q.get(i).item.action.arguments for i in waiting] == [HUGE] and small not in waiting
    said = next(m for m in result["messages"] if m.type == "tool")
    assert said.status == "error" and "far above the order total" in said.content


def test_langgraph_the_same_thread_resumed_again_keeps_its_one_item(tmp_path):
    from reviewer.integrations.langgraph import resume_when_decided

    gate, q = open_gate(tmp_path, agent="langgraph")
    graph, received = refund_graph(gate)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"messages": [("user", "refund 10")]}, config)
    [item_id] = pending(q)
    approve(q, item_id)
    resume_when_decided(graph, config, gate)
    assert received == [SMALL] and q.count(ItemFilter(kind="action")) == 1


def test_langgraph_a_resume_carrying_another_items_approval_runs_nothing(tmp_path):
    from langgraph.types import Command

    from reviewer.gate import GateDecision

    gate, q = open_gate(tmp_path, agent="langgraph")
    graph, received = refund_graph(gate)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"messages": [("user", "refund 99999")]}, config)
    forged = GateDecision(approved=True, verdict="approve", arguments=HUGE, feedback="Approved by rita.",
                          reviewer="rita", item_id="langgraph-call_1")
    result = graph.invoke(Command(resume={"call_1": forged.model_dump(mode="json")}), config)
    said = next(m for m in result["messages"] if m.type == "tool")
    assert received == [] and said.status == "error" and "langgraph-call_1" in said.content


# -- OpenAI Agents SDK ------------------------------------------------------------------


def refund_agent(gate: Gate, amount: float):
    """An agent whose model calls `refund(order_id="1", amount=amount)` as `call_1`, then answers."""
    pytest.importorskip("agents")
    from agents import Agent, function_tool
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    from reviewer.integrations.openai_agents import needs_approval

    received: list[dict] = []

    class OneCall(Model):
        async def get_response(self, system_instructions, input, *a, **kw):
            called = any(isinstance(e, dict) and e.get("type") == "function_call_output"
                         for e in (input if isinstance(input, list) else []))
            if not called:
                out = [ResponseFunctionToolCall(type="function_call", name="refund", call_id="call_1", id="fc_1",
                                                arguments=json.dumps({"order_id": "1", "amount": amount}),
                                                status="completed")]
            else:
                out = [ResponseOutputMessage(id="m1", type="message", role="assistant", status="completed",
                                             content=[ResponseOutputText(type="output_text", text="done",
                                                                         annotations=[])])]
            return ModelResponse(output=out, usage=Usage(), response_id=None)

        async def stream_response(self, *a, **kw):  # not used
            raise NotImplementedError
            yield

    @function_tool(needs_approval=needs_approval("refund", gate))
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        received.append({"order_id": order_id, "amount": amount})
        return f"refunded {amount} on order {order_id}"

    return Agent(name="support", instructions="Help.", tools=[refund], model=OneCall()), received


def test_openai_agents_a_second_run_reusing_a_call_id_waits_for_its_own_review(tmp_path):
    from reviewer.integrations.openai_agents import run_with_review

    db = tmp_path / "q.db"
    gate = Gate(str(db), agent="openai-agents")

    def reviewer() -> None:
        found = pending_action(db)
        if found is not None:
            approve(found[0], found[1])

    threading.Thread(target=reviewer, daemon=True).start()
    agent, received = refund_agent(gate, 10.0)
    asyncio.run(run_with_review(agent, "Refund 10", gate, timeout_s=30))
    assert received == [SMALL]
    # a new run, the same call id, a larger refund: nobody approves it, so it never runs
    agent2, received2 = refund_agent(gate, 99999.0)
    asyncio.run(run_with_review(agent2, "Refund 99999", gate, timeout_s=1))
    assert received2 == []
    q = SqlQueue.open(f"sqlite:///{db}")
    calls = sorted(i.item.action.arguments["amount"] for i in q.get_many([r.id for r in q.list_items(
        ItemFilter(kind="action"))]))
    assert calls == [10.0, 99999.0]


def test_openai_agents_resume_from_queue_finds_the_runs_own_items(tmp_path):
    from agents import Runner

    from reviewer.integrations.openai_agents import _submit_all, resume_from_queue

    db = tmp_path / "q.db"
    gate = Gate(str(db), agent="openai-agents")
    agent, _ = refund_agent(gate, 10.0)
    old = asyncio.run(Runner.run(agent, "Refund 10"))
    [old_id] = _submit_all(old, gate, "openai-agents", 60)[1]
    approve(SqlQueue.open(f"sqlite:///{db}"), old_id)
    # another run pauses on the same call id with other arguments; resumed after a restart,
    # it is decided by its own item (nobody decided it: the deadline rejects), not the first's
    agent2, received2 = refund_agent(gate, 99999.0)
    paused = asyncio.run(Runner.run(agent2, "Refund 99999"))
    [new_id] = _submit_all(paused, gate, "openai-agents", 1)[1]
    assert new_id != old_id
    agent3, received3 = refund_agent(Gate(str(db), agent="openai-agents"), 99999.0)
    result = asyncio.run(resume_from_queue(agent3, new_id, Gate(str(db), agent="openai-agents")))
    assert received2 == [] and received3 == [] and result.final_output == "done"
