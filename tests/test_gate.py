"""The approval gate: end to end across processes, deadlines, fail-closed, policies, guard."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reviewer import ActionRejected, Gate
from reviewer.errors import Conflict, Expired
from reviewer.models import DecisionIn, ItemFilter, QueueSettings
from reviewer.policy import parse_policy
from reviewer.storage import SqlQueue

from factories import action

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "REVIEWER_NAME": "carol"}


def pending_action(q, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = q.list_items(ItemFilter(kind="action", status=["pending"]))
        if rows:
            return rows[0]
        time.sleep(0.02)
    raise AssertionError("the agent never asked")


def start_agent(db: Path, tool: str, args: dict, timeout: float = 60) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "agent.py"), str(db), tool, json.dumps(args), str(timeout)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def decide_cli(db: Path, *args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "reviewer", "--db", str(db), "decide", *args],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr


def agent_result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "q.db"
    SqlQueue.open(f"sqlite:///{path}").close()
    return path


def test_agent_blocks_until_approved_in_another_process(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    proc = start_agent(db, "issue_refund", {"order_id": "55120", "amount": 1249.0})
    item = pending_action(q)
    assert item.tool == "issue_refund" and proc.poll() is None  # still blocked
    decide_cli(db, item.id, "--approve")
    d = agent_result(proc)
    assert (d["approved"], d["verdict"], d["reviewer"], d["decided_by_policy"]) == (True, "approve", "carol", None)
    assert d["arguments"] == {"order_id": "55120", "amount": 1249.0}


def test_agent_gets_edited_arguments(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    proc = start_agent(db, "issue_refund", {"order_id": "55120", "amount": 1249.0})
    item = pending_action(q)
    decide_cli(db, item.id, "--arguments", '{"order_id": "55120", "amount": 249.0}', "--comment", "order total is 249")
    d = agent_result(proc)
    assert (d["approved"], d["verdict"]) == (True, "correct")
    assert d["arguments"] == {"order_id": "55120", "amount": 249.0}
    assert "249.0" in d["feedback"] and "order total is 249" in d["feedback"]
    kept = q.get(item.id)
    assert kept.item.action.arguments["amount"] == 1249.0  # the original call is kept too


def test_agent_gets_the_reviewers_reasons_as_feedback(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    proc = start_agent(db, "run_sql", {"statement": "DELETE FROM orders"})
    item = pending_action(q)
    decide_cli(db, item.id, "--reject", "--reason", "unsafe", "--comment", "only delete rows with is_test = true")
    d = agent_result(proc)
    assert (d["approved"], d["verdict"], d["reasons"]) == (False, "reject", ["unsafe"])
    assert "carol" in d["feedback"] and "only delete rows with is_test = true" in d["feedback"]
    assert d["error"] is None


def test_deadline_expires_the_item_and_rejects(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    gate = Gate(queue=q)
    t = time.monotonic()
    d = gate.request("shell", {"command": "rm -rf /tmp/x"}, timeout_s=0.4)
    assert time.monotonic() - t < 5
    assert (d.approved, d.verdict, d.reviewer, d.reasons) == (False, "reject", "system", ["timeout"])
    item = q.get(d.item_id)
    assert item.status == "expired"
    with pytest.raises(Expired):
        q.decide(d.item_id, DecisionIn(verdict="approve", reviewer="late"))


def test_agent_wait_shorter_than_deadline_expires_its_item(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    d = Gate(queue=q).request("shell", {"command": "ls"}, timeout_s=600, wait_s=0.3)
    assert not d.approved and "stopped waiting" in d.feedback
    assert q.get(d.item_id).status == "expired"


def test_queue_sweep_expires_overdue_actions_without_any_agent(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    q.enqueue(action(1, timeout_s=0.1))
    time.sleep(0.2)
    assert q.expire_overdue() == ["act-1"]


def test_a_decision_that_wins_the_race_is_honoured(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    q.enqueue(action(1))
    q.decide("act-1", DecisionIn(verdict="approve", reviewer="alice"))
    assert q.expire("act-1").status == "decided"


def test_fail_closed_when_the_database_stays_locked(db):
    gate = Gate(db=str(db), grace_s=0.5)
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        t = time.monotonic()
        d = gate.request("transfer_funds", {"amount": 1}, timeout_s=1.0)
        assert time.monotonic() - t < 4
    finally:
        locker.execute("ROLLBACK")
    assert (d.approved, d.verdict) == (False, "reject")
    assert d.error and ("did not answer" in d.error or "locked" in d.error)


def test_fail_closed_when_the_database_is_corrupt(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"\x00garbage" * 500)
    d = Gate(db=str(bad)).request("shell", {"command": "ls"}, timeout_s=5)
    assert not d.approved and "corrupt" in d.error


def test_fail_closed_when_the_database_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    d = Gate(db=str(blocker / "sub" / "q.db")).request("shell", {"command": "ls"}, timeout_s=5)
    assert not d.approved and d.error


def test_fail_closed_when_the_database_file_is_deleted_while_waiting(db):
    gate = Gate(db=str(db))
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("d", gate.request("shell", {"c": 1}, timeout_s=1.0)))
    t.start()
    time.sleep(0.3)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t.join(30)
    assert out["d"].approved is False


def test_policy_allow_and_deny_are_recorded_as_the_policy(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    policy = parse_policy({"rule": [
        {"name": "small refunds", "tool": "issue_refund", "when": ["amount <= 100"], "action": "allow"},
        {"name": "no drops", "tool": "run_sql", "when": ["statement ~ '(?i)drop'"], "action": "deny"},
    ]})
    gate = Gate(queue=q, policy=policy)
    ok = gate.request("issue_refund", {"amount": 20})
    assert (ok.approved, ok.decided_by_policy, ok.reviewer) == (True, "small refunds", "policy:small refunds")
    no = gate.request("run_sql", {"statement": "DROP TABLE x"})
    assert (no.approved, no.decided_by_policy) == (False, "no drops")
    assert "no drops" in no.feedback
    log = q.audit(no.item_id)
    assert [a.action for a in log] == ["enqueue", "decide", "final"] and log[1].actor == "policy:no drops"


def test_policy_review_rule_sets_risk_and_deadline(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    policy = parse_policy({"rule": [{"name": "sql", "tool": "run_sql", "action": "review",
                                     "risk": "critical", "timeout_s": 0.3}]})
    d = Gate(queue=q, policy=policy).request("run_sql", {"statement": "select 1"}, risk="low")
    item = q.get(d.item_id)
    assert item.risk == "critical" and item.status == "expired"


def test_guard_runs_with_edited_arguments_or_raises(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    gate = Gate(queue=q)
    calls = []

    @gate.guard(risk="critical", timeout_s=30)
    def transfer_funds(to_iban: str, amount: float) -> str:
        calls.append((to_iban, amount))
        return "sent"

    def reviewer(verdict: str, **kw):
        item = pending_action(q)
        lease = q.claim(item.id, "dana").lease
        q.decide(item.id, DecisionIn(verdict=verdict, reviewer="dana", **kw), lease=lease)

    t = threading.Thread(target=reviewer, args=("correct",), kwargs={"arguments": {"to_iban": "NL91", "amount": 10.0}})
    t.start()
    assert transfer_funds("DE89", 48500.0) == "sent"
    t.join()
    assert calls == [("NL91", 10.0)]
    t = threading.Thread(target=reviewer, args=("reject",), kwargs={"reasons": ["policy_violation"], "comment": "new IBAN"})
    t.start()
    with pytest.raises(ActionRejected) as e:
        transfer_funds("DE89", 48500.0)
    t.join()
    assert "policy_violation" in e.value.decision.feedback and calls == [("NL91", 10.0)]


def test_async_request_and_async_guard(db):
    q = SqlQueue.open(f"sqlite:///{db}")
    gate = Gate(queue=q)

    @gate.guard(timeout_s=30)
    async def deploy(service: str) -> str:
        return f"deployed {service}"

    async def main():
        async def approve_soon():
            item = await asyncio.to_thread(pending_action, q)
            await asyncio.to_thread(q.decide, item.id, DecisionIn(verdict="approve", reviewer="eve"))

        results = await asyncio.gather(deploy("api"), approve_soon())
        return results[0]

    assert asyncio.run(main()) == "deployed api"


def test_two_distinct_approvers_for_critical_actions(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    q.set_queue_settings("payments", QueueSettings(two_approvers=True), actor="admin")
    q.enqueue(action(1, queue="payments", risk="critical"))
    q.decide("act-1", DecisionIn(verdict="correct", reviewer="alice", arguments={"order_id": "1", "amount": 1.0}))
    item = q.get("act-1")
    assert (item.status, item.approvals) == ("pending", 1)
    with pytest.raises(Conflict, match="different approver"):
        q.decide("act-1", DecisionIn(verdict="approve", reviewer="alice"))
    q.decide("act-1", DecisionIn(verdict="approve", reviewer="bob"))
    item = q.get("act-1")
    assert (item.status, item.verdict, item.approvals) == ("decided", "correct", 2)
    assert item.decisions[-1].arguments == {"order_id": "1", "amount": 1.0}  # first approver's edit kept
    assert [a.action for a in q.audit("act-1")][-2:] == ["approve_1_of_2", "decide"]
    # a non-critical action in the same queue needs one approval
    q.enqueue(action(2, queue="payments", risk="high"))
    q.decide("act-2", DecisionIn(verdict="approve", reviewer="alice"))
    assert q.get("act-2").status == "decided"


def test_on_timeout_approve_is_refused_for_high_risk():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="refused for high risk"):
        action(1, risk="high", on_timeout="approve")
    assert action(2, risk="low", on_timeout="approve").on_timeout == "approve"


def test_gate_import_stays_light():
    code = ("import sys\nfrom reviewer import Gate, GateDecision, ActionRejected\nGate()\n"
            "print([m for m in ('sqlalchemy', 'textual', 'litellm', 'storage') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert out.stdout.strip() == "[]", out.stderr


def test_gate_on_postgresql(pg_url):
    q = SqlQueue.open(pg_url)
    gate = Gate(queue=q)

    def reviewer():
        item = pending_action(q)
        q.decide(item.id, DecisionIn(verdict="correct", reviewer="pg-rev", arguments={"n": 2}))

    t = threading.Thread(target=reviewer)
    t.start()
    d = gate.request("scale", {"n": 9}, timeout_s=30)
    t.join()
    assert (d.approved, d.verdict, d.arguments, d.reviewer) == (True, "correct", {"n": 2}, "pg-rev")
    d = gate.request("scale", {"n": 9}, timeout_s=0.3)
    assert not d.approved and q.get(d.item_id).status == "expired"
