"""The gate inside agent frameworks, with each framework's own mock model: a real agent loop in
this process, decisions made from another process through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reviewer.models import ItemFilter
from reviewer.storage import SqlQueue

from factories import pending_action

inspect_ai = pytest.importorskip("inspect_ai")


def cli(db: Path, *args: str) -> str:
    """`reviewer ARGS` in a process of its own, as a reviewer at a terminal would run it."""
    out = subprocess.run([sys.executable, "-c", "from reviewer.cli import main; main()", *args],
                         capture_output=True, text=True, timeout=60,
                         env={"REVIEWER_DB": str(db), "REVIEWER_NAME": "rita", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def reviewer_at_terminal(db: Path, decide: list[str] | None) -> threading.Thread:
    """Waits for the pending action, then decides it with `reviewer decide ID ...decide`."""

    def run() -> None:
        found = pending_action(db)
        if found is not None and decide is not None:
            cli(db, "decide", found[1], *decide)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def run_eval(tmp_path: Path, db: Path, approval: str | None = None, **approver_args):
    """One Inspect sample whose mock model calls `refund(order_id="55120", amount=1249.0)`
    once, then answers; the `reviewer` approver guards the tool."""
    from inspect_ai import Task, eval
    from inspect_ai.approval import ApprovalPolicy
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.solver import generate, use_tools
    from inspect_ai.tool import tool

    from reviewer.integrations.inspect import reviewer_approver

    received: list[dict] = []

    @tool
    def refund():
        async def execute(order_id: str, amount: float) -> str:
            """Refund an order.

            Args:
              order_id: The order.
              amount: How much to refund.
            """
            received.append({"order_id": order_id, "amount": amount})
            return f"refunded {amount} on order {order_id}"

        return execute

    def usage(out: ModelOutput) -> ModelOutput:
        out.usage = ModelUsage(input_tokens=10, output_tokens=3, total_tokens=13)  # no tokenizer download
        return out

    outputs = [usage(ModelOutput.for_tool_call("mockllm/model", "refund", {"order_id": "55120", "amount": 1249.0})),
               usage(ModelOutput.from_content("mockllm/model", "done"))]
    task = Task(dataset=[Sample(input="Refund order 55120, the headphones crackle.")],
                solver=[use_tools(refund()), generate()])
    policy = approval or [ApprovalPolicy(reviewer_approver(db=str(db), **approver_args), "*")]
    log = eval(task, model=get_model("mockllm/model", custom_outputs=outputs), approval=policy,
               log_dir=str(tmp_path / "logs"), display="none")[0]
    assert log.status == "success", log.error
    tool_messages = [m for m in log.samples[0].messages if m.role == "tool"]
    return received, tool_messages


def test_inspect_runs_the_call_a_reviewer_approved(tmp_path):
    db = tmp_path / "q.db"
    reviewer_at_terminal(db, ["--approve"])
    received, seen = run_eval(tmp_path, db)
    assert received == [{"order_id": "55120", "amount": 1249.0}]
    assert seen[0].text == "refunded 1249.0 on order 55120"
    item = SqlQueue.open(f"sqlite:///{db}").list_items(ItemFilter(kind="action"))[0]
    assert (item.tool, item.verdict, item.decided_by) == ("refund", "approve", "rita")


def test_inspect_runs_the_call_with_the_arguments_a_reviewer_edited(tmp_path):
    db = tmp_path / "q.db"
    reviewer_at_terminal(db, ["--arguments", json.dumps({"order_id": "55120", "amount": 249.0})])
    received, seen = run_eval(tmp_path, db)
    assert received == [{"order_id": "55120", "amount": 249.0}]
    assert seen[0].text == "refunded 249.0 on order 55120"


def test_inspect_tells_the_model_why_a_reviewer_rejected(tmp_path):
    db = tmp_path / "q.db"
    reviewer_at_terminal(db, ["--reject", "--reason", "policy_violation", "--comment", "order total is 249"])
    received, seen = run_eval(tmp_path, db)
    assert received == []
    assert seen[0].error is not None
    assert "rejected the call refund" in seen[0].error.message and "order total is 249" in seen[0].error.message


def test_inspect_rejects_when_nobody_decides_in_time(tmp_path):
    db = tmp_path / "q.db"
    received, seen = run_eval(tmp_path, db, timeout_s=1)
    assert received == [] and "in time" in seen[0].error.message


def test_inspect_escalates_or_rejects_when_the_queue_is_unreachable(tmp_path):
    from inspect_ai.tool import ToolCall

    from reviewer.gate import GateDecision
    from reviewer.integrations.inspect import to_approval

    call = ToolCall(id="c1", function="refund", arguments={"order_id": "1"})
    down = GateDecision(approved=False, verdict="reject", arguments={}, feedback="The queue is unreachable.",
                        error="unreachable")
    assert to_approval(call, down, escalate=True).decision == "escalate"
    assert to_approval(call, down, escalate=False).decision == "reject"
    # and end to end: a gateway nobody answers at rejects
    received, seen = run_eval(tmp_path, tmp_path / "unused.db", url="http://127.0.0.1:9", token="t", timeout_s=2)
    assert received == [] and seen[0].error is not None


def test_the_policy_file_in_the_docs_loads_the_reviewer_approver(tmp_path, monkeypatch):
    import re

    from inspect_ai.approval._policy import approval_policies_from_config

    doc = (Path(__file__).resolve().parents[1] / "docs" / "integrations.md").read_text()
    yaml_text = re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)
    path = tmp_path / "approval.yaml"
    path.write_text(yaml_text)
    policies = approval_policies_from_config(str(path))
    from inspect_ai._util.registry import registry_info

    assert [registry_info(p.approver).name for p in policies] == ["reviewer/reviewer"]
    db = tmp_path / "q.db"
    monkeypatch.setenv("REVIEWER_DB", str(db))
    reviewer_at_terminal(db, ["--approve"])
    received, _ = run_eval(tmp_path, db, approval=str(path))  # as `inspect eval --approval approval.yaml`
    assert received == [{"order_id": "55120", "amount": 1249.0}]
    assert SqlQueue.open(f"sqlite:///{db}").list_items(ItemFilter(kind="action"))[0].queue == "inspect"


# -- LangGraph --------------------------------------------------------------------------


def langgraph_agent(db: Path, wait: str = "block", **node_args):
    """A ReAct-style graph: a fake chat model asks for `refund(order_id="55120", amount=1249.0)`
    once, then answers; ReviewedToolNode runs the call once a reviewer decided it."""
    pytest.importorskip("langgraph")
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, MessagesState, StateGraph

    from reviewer.gate import Gate
    from reviewer.integrations.langgraph import ReviewedToolNode

    received: list[dict] = []

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        received.append({"order_id": order_id, "amount": amount})
        return f"refunded {amount} on order {order_id}"

    model = FakeMessagesListChatModel(responses=[
        AIMessage(content="", tool_calls=[{"name": "refund", "args": {"order_id": "55120", "amount": 1249.0},
                                           "id": "call_1"}]),
        AIMessage(content="done")])
    gate = Gate(str(db), agent="langgraph")
    g = StateGraph(MessagesState)
    g.add_node("agent", lambda s: {"messages": [model.invoke(s["messages"])]})
    g.add_node("tools", ReviewedToolNode([refund], gate, wait=wait, **node_args))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END)
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=InMemorySaver()), received, gate


def tool_message(result) -> object:
    return next(m for m in result["messages"] if m.type == "tool")


@pytest.mark.parametrize(("decide", "ran", "said"), [
    (["--approve"], [{"order_id": "55120", "amount": 1249.0}], "refunded 1249.0 on order 55120"),
    (["--arguments", '{"order_id": "55120", "amount": 249.0}'], [{"order_id": "55120", "amount": 249.0}],
     "refunded 249.0 on order 55120"),
    (["--reject", "--reason", "policy_violation", "--comment", "order total is 249"], [], "order total is 249"),
])
def test_langgraph_node_blocks_until_the_reviewer_decides(tmp_path, decide, ran, said):
    db = tmp_path / "q.db"
    graph, received, _ = langgraph_agent(db)
    reviewer_at_terminal(db, decide)
    result = graph.invoke({"messages": [("user", "Refund order 55120")]}, {"configurable": {"thread_id": "t1"}})
    assert received == ran
    msg = tool_message(result)
    assert said in msg.content and (msg.status == "error") == (not ran)
    assert result["messages"][-1].content == "done"


def test_langgraph_interrupts_and_resumes_once_the_decision_lands(tmp_path):
    from reviewer.integrations.langgraph import resume_when_decided

    db = tmp_path / "q.db"
    graph, received, gate = langgraph_agent(db, wait="interrupt")
    config = {"configurable": {"thread_id": "t2"}}
    paused = graph.invoke({"messages": [("user", "Refund order 55120")]}, config)
    assert "__interrupt__" in paused and received == []
    q = SqlQueue.open(f"sqlite:///{db}")
    [item] = q.list_items(ItemFilter(kind="action", status=["pending"]))
    assert item.id.startswith("langgraph-") and "-call_1-" in item.id  # the thread's, the call's
    cli(db, "decide", item.id, "--arguments", '{"order_id": "55120", "amount": 249.0}')
    result = resume_when_decided(graph, config, gate)
    assert received == [{"order_id": "55120", "amount": 249.0}]  # queued once, run once, edited
    assert tool_message(result).content == "refunded 249.0 on order 55120"
    assert len(q.list_items(ItemFilter(kind="action", status=["decided"]))) == 1
    assert resume_when_decided(graph, config, gate) is None  # nothing is waiting any more


def test_langgraph_rejects_when_nobody_decides_in_time(tmp_path):
    db = tmp_path / "q.db"
    graph, received, _ = langgraph_agent(db, timeout_s=1)
    result = graph.invoke({"messages": [("user", "Refund order 55120")]}, {"configurable": {"thread_id": "t3"}})
    assert received == [] and "in time" in tool_message(result).content


def test_langgraph_rejects_when_the_queue_is_unreachable(tmp_path):
    pytest.importorskip("langgraph")
    from reviewer.gate import Gate
    from reviewer.integrations.langgraph import review_hitl_request

    down = Gate(url="http://127.0.0.1:9", token="t")
    out = review_hitl_request({"action_requests": [{"name": "refund", "args": {"order_id": "1"}}]}, down,
                              timeout_s=2)
    assert out["decisions"][0]["type"] == "reject"


def test_langchain_hitl_request_gets_decisions_in_its_own_shape(tmp_path):
    pytest.importorskip("langgraph")
    from reviewer.gate import Gate
    from reviewer.integrations.langgraph import review_hitl_request

    db = tmp_path / "q.db"
    gate = Gate(str(db))
    request = {"action_requests": [{"name": "refund", "args": {"order_id": "1", "amount": 10.0},
                                    "description": "Refund order 1"}]}
    for decide, expected in (
        (["--approve"], {"type": "approve"}),
        (["--arguments", '{"order_id": "1", "amount": 5.0}'],
         {"type": "edit", "edited_action": {"name": "refund", "args": {"order_id": "1", "amount": 5.0}}}),
    ):
        t = reviewer_at_terminal(db, decide)
        assert review_hitl_request(request, gate, timeout_s=30) == {"decisions": [expected]}
        t.join()
    reviewer_at_terminal(db, ["--reject", "--reason", "unsafe"])
    [d] = review_hitl_request(request, gate, timeout_s=30)["decisions"]
    assert d["type"] == "reject" and "unsafe" in d["message"]


def test_the_langgraph_example_in_the_docs_runs_as_written(tmp_path):
    pytest.importorskip("langgraph")
    import re

    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    from reviewer.gate import Gate

    doc = (Path(__file__).resolve().parents[1] / "docs" / "integrations.md").read_text()
    code = re.search(r"```python\n(# graph\.py\n.*?)```", doc, re.S).group(1)
    example: dict = {}
    exec(compile(code, "graph.py", "exec"), example)
    model = FakeMessagesListChatModel(responses=[
        AIMessage(content="", tool_calls=[{"name": "refund", "args": {"order_id": "7", "amount": 30.0}, "id": "c9"}]),
        AIMessage(content="done")])
    db = tmp_path / "q.db"
    reviewer_at_terminal(db, ["--approve"])
    result = example["run"](model, Gate(str(db)), "Refund order 7", "doc-thread")
    assert tool_message(result).content == "refunded 30.0 on order 7"


# -- OpenAI Agents SDK ------------------------------------------------------------------


def scripted_model(calls: list[dict], seen: list[str]):
    """A model for the OpenAI Agents SDK that calls `refund` with each of `calls` in turn, one
    per turn, then answers "done"; `seen` gets what the model was told after each call."""
    pytest.importorskip("agents")
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Scripted(Model):
        def __init__(self) -> None:
            self.turn = 0

        async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                               tracing, **kw):
            for entry in input if isinstance(input, list) else []:
                if isinstance(entry, dict) and entry.get("type") == "function_call_output":
                    seen.append(str(entry.get("output")))
            self.turn += 1
            if self.turn <= len(calls):
                out = [ResponseFunctionToolCall(type="function_call", name="refund", call_id=f"call_{self.turn}",
                                                arguments=json.dumps(calls[self.turn - 1]), id=f"fc_{self.turn}",
                                                status="completed")]
            else:
                out = [ResponseOutputMessage(id="m1", type="message", role="assistant", status="completed",
                                             content=[ResponseOutputText(type="output_text", text="done",
                                                                         annotations=[])])]
            return ModelResponse(output=out, usage=Usage(), response_id=None)

        async def stream_response(self, *a, **kw):  # not used
            raise NotImplementedError
            yield

    return Scripted()


def agents_setup(db: Path, calls: list[dict]):
    """An agent on `scripted_model(calls)`; its tool needs approval (no policy rule allows it)."""
    pytest.importorskip("agents")
    from agents import Agent, function_tool

    from reviewer.gate import Gate
    from reviewer.integrations.openai_agents import needs_approval

    gate = Gate(str(db), agent="openai-agents")
    received: list[dict] = []
    seen: list[str] = []

    @function_tool(needs_approval=needs_approval("refund", gate))
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        received.append({"order_id": order_id, "amount": amount})
        return f"refunded {amount} on order {order_id}"

    agent = Agent(name="support", instructions="Help.", tools=[refund], model=scripted_model(calls, seen))
    return agent, gate, received, seen


@pytest.mark.parametrize(("decide", "ran", "told"), [
    (["--approve"], [{"order_id": "55120", "amount": 1249.0}], "refunded 1249.0"),
    (["--reject", "--reason", "policy_violation", "--comment", "order total is 249"], [], "order total is 249"),
])
def test_openai_agents_run_waits_for_the_reviewer(tmp_path, decide, ran, told):
    import asyncio

    from reviewer.integrations.openai_agents import run_with_review

    db = tmp_path / "q.db"
    agent, gate, received, seen = agents_setup(db, [{"order_id": "55120", "amount": 1249.0}])
    reviewer_at_terminal(db, decide)
    result = asyncio.run(run_with_review(agent, "Refund order 55120", gate, timeout_s=30))
    assert received == ran and result.final_output == "done"
    assert told in seen[0]


def test_openai_agents_edited_arguments_come_back_as_a_new_call_that_runs(tmp_path):
    import asyncio

    from reviewer.integrations.openai_agents import run_with_review

    db = tmp_path / "q.db"
    # the model asks for 1249, is told the approved arguments, asks again with them
    agent, gate, received, seen = agents_setup(db, [{"order_id": "55120", "amount": 1249.0},
                                                    {"order_id": "55120", "amount": 249.0}])

    def reviewer() -> None:
        for decide in (["--arguments", '{"order_id": "55120", "amount": 249.0}'], ["--approve"]):
            found = pending_action(db)
            if found is not None:
                cli(db, "decide", found[1], *decide)

    threading.Thread(target=reviewer, daemon=True).start()
    result = asyncio.run(run_with_review(agent, "Refund order 55120", gate, timeout_s=30))
    assert received == [{"order_id": "55120", "amount": 249.0}] and result.final_output == "done"
    assert '"amount": 249.0' in seen[0] and "exactly these arguments" in seen[0]


def test_openai_agents_rejects_when_nobody_decides_in_time(tmp_path):
    import asyncio

    from reviewer.integrations.openai_agents import run_with_review

    db = tmp_path / "q.db"
    agent, gate, received, seen = agents_setup(db, [{"order_id": "55120", "amount": 1249.0}])
    asyncio.run(run_with_review(agent, "Refund order 55120", gate, timeout_s=1))
    assert received == [] and "in time" in seen[0]


def test_openai_agents_run_resumes_after_a_restart_from_the_state_kept_in_the_queue(tmp_path):
    import asyncio

    from agents import Runner

    from reviewer.integrations.openai_agents import _submit_all, resume_from_queue

    db = tmp_path / "q.db"
    agent, gate, received, _ = agents_setup(db, [{"order_id": "55120", "amount": 1249.0}])
    paused = asyncio.run(Runner.run(agent, "Refund order 55120"))
    [item_id] = _submit_all(paused, gate, "openai-agents", 60)[1]
    # the process stops here; a reviewer approves; a new process resumes from the queue
    cli(db, "decide", item_id, "--approve")
    agent2, gate2, received2, _ = agents_setup(db, [{"order_id": "55120", "amount": 1249.0}])
    agent2.model.turn = 1  # the restarted model is past its first turn, as the saved run is
    result = asyncio.run(resume_from_queue(agent2, item_id, gate2))
    assert received2 == [{"order_id": "55120", "amount": 1249.0}] and result.final_output == "done"


def test_the_openai_agents_example_in_the_docs_runs_as_written(tmp_path, monkeypatch):
    pytest.importorskip("agents")
    import asyncio
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "integrations.md").read_text()
    code = re.search(r"```python\n(# support_agent\.py\n.*?)```", doc, re.S).group(1)
    db = tmp_path / "q.db"
    monkeypatch.setenv("REVIEWER_DB", str(db))
    example: dict = {}
    exec(compile(code, "support_agent.py", "exec"), example)
    seen: list[str] = []
    agent = example["build"](scripted_model([{"order_id": "7", "amount": 30.0}], seen))
    reviewer_at_terminal(db, ["--approve"])
    assert asyncio.run(example["answer"](agent, "Refund order 7")) == "done"
    assert seen == ["refunded 30.0 on order 7"]


def test_openai_agents_rejects_when_the_queue_is_unreachable(tmp_path):
    import asyncio

    from reviewer.gate import Gate
    from reviewer.integrations.openai_agents import run_with_review

    agent, _, received, seen = agents_setup(tmp_path / "q.db", [{"order_id": "55120", "amount": 1249.0}])
    down = Gate(url="http://127.0.0.1:9", token="t", agent="openai-agents")
    result = asyncio.run(run_with_review(agent, "Refund order 55120", down, timeout_s=2))
    assert received == [] and result.final_output == "done" and "not" in seen[0].lower()
