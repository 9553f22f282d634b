"""A decision a gate has taken is final: its agent acted on it, so undo (single, batch, CLI,
TUI, through the gateway) refuses, and the record keeps saying what ran."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner

from reviewer import Gate
from reviewer.cli import cli
from reviewer.client import HttpQueue
from reviewer.errors import Conflict
from reviewer.gate import GateDecision
from reviewer.models import BatchIn, DecisionIn, ItemFilter
from reviewer.queue import ReviewQueue
from reviewer.rules import standing_decision
from reviewer.storage import SqlQueue

from factories import action
from gateway import serve

ACTED = "the agent has already acted on this decision"


def _gated(gate: Gate, tool: str, args: dict[str, Any]) -> tuple[threading.Thread, dict[str, GateDecision]]:
    """An agent asking `gate` for `tool(args)` in a thread; its answer lands in the box."""
    box: dict[str, GateDecision] = {}
    t = threading.Thread(target=lambda: box.setdefault("d", gate.request(tool, args, risk="high", timeout_s=60)))
    t.start()
    return t, box


def _pending(q: ReviewQueue, n: int = 1) -> list[str]:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        ids = [r.id for r in q.list_items(ItemFilter(kind="action", status=["pending"]))]
        if len(ids) >= n:
            return ids
        time.sleep(0.02)
    raise AssertionError("the gate's request never reached the queue")


def test_undo_refuses_once_the_gate_returned(db_url: str) -> None:
    q = SqlQueue.open(db_url)
    t, box = _gated(Gate(queue=q, agent="payments-agent"), "transfer_funds", {"to": "DE89", "amount": 5000})
    (item_id,) = _pending(q)
    q.decide(item_id, DecisionIn(verdict="approve", reviewer="alice"))
    t.join(20)
    assert box["d"].approved  # the agent ran the transfer
    with pytest.raises(Conflict, match=ACTED):
        q.undo(item_id, "alice")
    item = q.get(item_id)
    assert item.status == "decided" and standing_decision(item).verdict == "approve"  # type: ignore[union-attr]
    assert [e.action for e in q.audit(item_id)][-1] == "final"
    q.close()


def test_undo_still_works_before_the_gate_took_the_decision(sqlite_url: str) -> None:
    q = SqlQueue.open(sqlite_url)
    q.enqueue(action(1))
    q.decide("act-1", DecisionIn(verdict="approve", reviewer="alice"))
    q.undo("act-1", "alice")
    assert q.get("act-1").status == "pending"
    q.close()


def test_a_decision_undone_before_the_gate_read_it_is_a_reject_the_record_keeps(sqlite_url: str) -> None:
    """The reviewer's undo lands between the agent's wake-up and its read: the agent is told
    no, and the record says no (not an approval of a call that did not run)."""
    q = SqlQueue.open(sqlite_url)
    q.enqueue(action(1))
    q.decide("act-1", DecisionIn(verdict="approve", reviewer="alice"))
    q.undo("act-1", "alice")
    item = q.take_decision("act-1", actor="agent")
    d = standing_decision(item)
    assert item.status == "expired" and d is not None and d.verdict == "reject" and d.by == "system"
    with pytest.raises(Exception, match="expired"):
        q.decide("act-1", DecisionIn(verdict="approve", reviewer="alice"))
    q.close()


def test_batch_undo_leaves_what_the_agents_acted_on(sqlite_url: str) -> None:
    q = SqlQueue.open(sqlite_url)
    gate = Gate(queue=q, agent="ops")
    first = gate.submit("restart", {"svc": "api"}, item_id="ops-1")
    second = gate.submit("restart", {"svc": "db"}, item_id="ops-2")
    done = q.decide_many(BatchIn(item_ids=[first, second], decision=DecisionIn(verdict="approve", reviewer="alice")))
    assert gate.outcome(first, "restart", {"svc": "api"}).approved  # this agent resumed and ran it
    undone = q.undo_batch(done.batch, "alice")
    assert undone.decided == [second]
    assert ACTED in undone.skipped[first]
    assert q.get(first).status == "decided" and q.get(second).status == "pending"
    q.close()


def test_cli_undo_says_why(sqlite_url: str) -> None:
    q = SqlQueue.open(sqlite_url)
    gate = Gate(queue=q)
    item_id = gate.submit("drop_table", {"name": "users"})
    q.decide(item_id, DecisionIn(verdict="approve", reviewer="alice"))
    assert gate.outcome(item_id, "drop_table", {"name": "users"}).approved
    r = CliRunner().invoke(cli, ["--db", sqlite_url, "undo", item_id, "--reviewer", "alice"])
    assert r.exit_code == 4 and ACTED in r.output
    q.close()


def test_through_a_gateway_the_gate_makes_its_decision_final(sqlite_url: str) -> None:
    backing = SqlQueue.open(sqlite_url)
    with serve(backing, sweep_s=0) as url:
        agent_secret, _ = backing_tokens(backing, "payments-agent", "agent")
        reviewer_secret, _ = backing_tokens(backing, "alice", "reviewer")
        agent_q, reviewer_q = HttpQueue(url, token=agent_secret), HttpQueue(url, token=reviewer_secret)
        t, box = _gated(Gate(queue=agent_q, agent="payments-agent"), "transfer_funds", {"to": "DE89", "amount": 9})
        (item_id,) = _pending(reviewer_q)
        reviewer_q.decide(item_id, DecisionIn(verdict="approve", reviewer="alice"))
        t.join(20)
        assert box["d"].approved
        with pytest.raises(Conflict, match=ACTED):
            reviewer_q.undo(item_id, "alice")
        r = CliRunner().invoke(cli, ["--gateway", url, "undo", item_id], env={"REVIEWER_TOKEN": reviewer_secret})
        assert r.exit_code == 4 and ACTED in r.output
        assert backing.get(item_id).status == "decided"
        agent_q.close()
        reviewer_q.close()
    backing.close()


def backing_tokens(q: SqlQueue, name: str, role: str) -> tuple[str, str]:
    from reviewer.storage.tokens import Tokens

    return Tokens(q.engine).create(name, role, None)


async def test_the_tui_undo_says_the_agent_has_acted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tuikit import ACTIONS, SIZE, app_for, make_queue, open_item, screen_text, settle

    from reviewer.screens.dialogs import ErrorScreen

    queue = make_queue(tmp_path, ACTIONS)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "file-1")
        await pilot.press("a")
        await settle(pilot, lambda: queue.get("file-1").status == "decided")
        queue.take_decision("file-1", actor="ops-agent")  # the agent's gate returned: the file is written
        await pilot.press("u")
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen))
        shown = " ".join(screen_text(app).split())
        assert "cannot be undone" in shown and ACTED in shown, shown
    assert queue.get("file-1").status == "decided"
    queue.close()


async def test_the_tui_batch_undo_says_which_the_agent_acted_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tuikit import ACTIONS, SIZE, app_for, loaded, make_queue, settle

    from reviewer.screens.dialogs import BulkConfirm

    queue = make_queue(tmp_path, ACTIONS)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        for item_id in ("sh-1", "file-1"):
            lst.cursor = next(i for i in range(lst.total) if lst.summary_at(i).id == item_id)
            await pilot.press("space")
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, BulkConfirm))
        await pilot.press("y")
        await settle(pilot, lambda: {queue.get(i).status for i in ("sh-1", "file-1")} == {"decided"})
        queue.take_decision("sh-1", actor="ops-agent")  # that agent's gate returned: the restart ran
        await pilot.press("u")
        await settle(pilot, lambda: queue.get("file-1").status == "pending")
        said = [n.message for n in app._notifications if n.message.startswith("Undone")]
        assert said and "1 left as they are" in said[-1] and ACTED in said[-1]
    assert queue.get("sh-1").status == "decided"
    queue.close()
