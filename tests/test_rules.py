"""The domain rules as plain functions, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviewer import rules
from reviewer.errors import Conflict, Invalid
from reviewer.models import Decision, DecisionIn, QueueItem

from factories import action, output

T = datetime(2030, 1, 1, tzinfo=UTC)


def stored(verdict: str, reviewer: str = "alice", n: int = 1, **kw) -> Decision:
    return Decision(id=f"d{n}", item_id="x", seq=n, verdict=verdict, reviewer=reviewer, decided_at=T, **kw)


def settled(item, status: str, decisions: list[Decision]) -> QueueItem:
    return QueueItem(id=item.id, kind=item.kind, queue=item.queue, priority=item.priority, status=status,
                     created_at=T, enqueued_at=T, item=item, decisions=decisions)


def test_decision_shapes():
    rules.check_shape(output(), DecisionIn(verdict="correct", reviewer="a", correction="fixed"))
    rules.check_shape(action(), DecisionIn(verdict="correct", reviewer="a", arguments={"amount": 1}))
    with pytest.raises(Invalid, match="arguments apply to actions"):
        rules.check_shape(output(), DecisionIn(verdict="approve", reviewer="a", arguments={}))
    with pytest.raises(Invalid, match="needs the corrected text"):
        rules.check_shape(output(), DecisionIn(verdict="correct", reviewer="a"))
    with pytest.raises(Invalid, match="text correction applies to outputs"):
        rules.check_shape(action(), DecisionIn(verdict="approve", reviewer="a", correction="x"))
    with pytest.raises(Invalid, match="needs the edited arguments"):
        rules.check_shape(action(), DecisionIn(verdict="correct", reviewer="a"))


def test_two_approvers_only_for_critical_actions_in_such_queues():
    crit, high = action(risk="critical"), action(risk="high")
    yes = DecisionIn(verdict="approve", reviewer="a")
    assert rules.needs_second_approval(crit, yes, approvals=0, two_approvers=True)
    assert not rules.needs_second_approval(crit, yes, approvals=1, two_approvers=True)
    assert not rules.needs_second_approval(crit, yes, approvals=0, two_approvers=False)
    assert not rules.needs_second_approval(high, yes, approvals=0, two_approvers=True)
    no = DecisionIn(verdict="reject", reviewer="a")
    assert not rules.needs_second_approval(crit, no, approvals=0, two_approvers=True)


def test_second_approval_needs_another_reviewer_and_inherits_edits():
    first = [stored("correct", "alice", arguments={"amount": 5})]
    agent = {"amount": 50}
    with pytest.raises(Conflict, match="second, different approver"):
        rules.second_approval("x", DecisionIn(verdict="approve", reviewer="alice"), first, proposed=agent)
    d = rules.second_approval("x", DecisionIn(verdict="approve", reviewer="bob"), first, proposed=agent)
    assert (d.verdict, d.arguments) == ("correct", {"amount": 5})
    same = rules.second_approval("x", DecisionIn(verdict="correct", reviewer="bob", arguments={"amount": 5}),
                                 first, proposed=agent)
    assert same.arguments == {"amount": 5}  # the editor saved unchanged: what alice approved


def test_a_second_approver_may_not_run_arguments_only_they_saw():
    """Only arguments both approvers saw may run: a second approver's own edit is refused."""
    edited = [stored("correct", "alice", arguments={"amount": 5})]
    with pytest.raises(Conflict, match="not the arguments alice approved"):
        rules.second_approval("x", DecisionIn(verdict="correct", reviewer="bob", arguments={"amount": 3}),
                              edited, proposed={"amount": 50})
    as_is = [stored("approve", "alice")]
    with pytest.raises(Conflict, match="not the arguments the first approval kept"):
        rules.second_approval("x", DecisionIn(verdict="correct", reviewer="bob", arguments={"amount": 3}),
                              as_is, proposed={"amount": 50})
    d = rules.second_approval("x", DecisionIn(verdict="correct", reviewer="bob", arguments={"amount": 50}),
                              as_is, proposed={"amount": 50})
    assert d.arguments == {"amount": 50}


def test_current_round_starts_after_the_last_revert():
    ds = [stored("approve", n=1), stored("revert", n=2, reverts="d1"), stored("approve", "bob", n=3)]
    assert [d.id for d in rules.current_round(ds)] == ["d3"]


def test_standing_decision_skips_reverted_ones_and_open_items():
    a = action()
    ds = [stored("approve", n=1), stored("revert", n=2, reverts="d1"), stored("reject", "bob", n=3)]
    assert rules.standing_decision(settled(a, "decided", ds)).id == "d3"
    assert rules.standing_decision(settled(a, "pending", ds[:2])) is None
    assert rules.standing_decision(settled(a, "expired", [stored("reject", "system", by="system")])).by == "system"


def test_timeout_decision():
    assert rules.timeout_decision(None, "late").verdict == "reject"
    d = rules.timeout_decision("approve", "late")
    assert (d.verdict, d.reviewer, d.reasons) == ("approve", "system", ["timeout"])


@pytest.mark.parametrize(("name", "reserved"), [
    ("system", True), (" System ", True), ("policy:x", True), ("POLICY:", True),
    ("alice", False), ("policy-team", False), ("systems", False),
])
def test_reserved_names(name, reserved):
    assert rules.is_reserved(name) is reserved


def test_a_correction_must_change_something():
    from reviewer.errors import Invalid
    from reviewer.models import DecisionIn, parse_item

    out = parse_item({"kind": "output", "id": "o", "output": "Revenue was 4,812m.\n"})
    with pytest.raises(Invalid, match="same as the output"):
        rules.check_shape(out, DecisionIn(verdict="correct", reviewer="a", correction="Revenue was 4,812m.\r\n"))
    rules.check_shape(out, DecisionIn(verdict="correct", reviewer="a", correction="Revenue was 611m."))
    act = parse_item({"kind": "action", "id": "a", "action": {"tool": "t", "arguments": {"x": 1}}})
    with pytest.raises(Invalid, match="same as the request"):
        rules.check_shape(act, DecisionIn(verdict="correct", reviewer="a", arguments={"x": 1}))
