"""The ReviewQueue contract, run against SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from reviewer.errors import (
    AlreadyDecided,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    LeaseError,
    NotFound,
)
from reviewer.models import BatchIn, DecisionIn, ItemFilter, NextItem, QueueSettings
from reviewer.queue import ReviewQueue

from factories import HOSTILE, action, output


def approve(who: str = "alice", **kw) -> DecisionIn:
    return DecisionIn(verdict="approve", reviewer=who, **kw)


def test_is_a_review_queue(queue):
    assert isinstance(queue, ReviewQueue)


def test_enqueue_is_idempotent_by_id_and_reports_conflicts(queue):
    assert queue.enqueue(output(1)).outcome == "inserted"
    assert queue.enqueue(output(1)).outcome == "unchanged"
    r = queue.enqueue(output(1, output="something else"))
    assert r.outcome == "conflict" and "different content" in r.detail
    assert queue.get("out-1").item.output == "answer number 1"  # conflict not applied
    assert queue.count() == 1


def test_enqueue_many_mixed_results_in_order(queue):
    queue.enqueue(output(1))
    res = queue.enqueue_many([output(1), output(2), output(1, output="x"), output(2)])
    assert [r.outcome for r in res] == ["unchanged", "inserted", "conflict", "unchanged"]
    assert queue.count() == 2


def test_item_without_id_gets_one(queue):
    r = queue.enqueue(output(1, id=None))
    assert r.outcome == "inserted" and len(r.id) == 32
    assert queue.get(r.id).item.output == "answer number 1"


def test_defaults_do_not_make_a_conflict(queue):
    assert queue.enqueue(output(1)).outcome == "inserted"
    assert queue.enqueue(output(1, priority=2, tags=[])).outcome == "unchanged"


def test_list_sorts_by_priority_then_age(queue):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    queue.enqueue_many([
        output("late-urgent", priority=0, created_at=t0 + timedelta(hours=2)),
        output("old-normal", priority=2, created_at=t0),
        output("early-urgent", priority=0, created_at=t0 + timedelta(hours=1)),
    ])
    assert [s.id for s in queue.list_items()] == ["out-early-urgent", "out-late-urgent", "out-old-normal"]
    assert [s.id for s in queue.list_items(order="age")][0] == "out-old-normal"


def test_list_filters(queue):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    queue.enqueue_many([
        output(1, queue="a", tags=["eu", "numbers"], created_at=t0),
        output(2, queue="b", tags=["us"], flags=[{"reason": "guardrail.pii_leak"}],
               created_at=t0 + timedelta(days=1)),
        action(3, risk="critical", tags=["eu_x"]),
    ])
    ids = lambda **kw: {s.id for s in queue.list_items(ItemFilter(**kw))}  # noqa: E731
    assert ids(queue="a") == {"out-1"}
    assert ids(kind="action") == {"act-3"}
    assert ids(risk="critical") == {"act-3"}
    assert ids(tag="eu") == {"out-1"}  # not eu_x: tags match whole
    assert ids(flag="guardrail.pii_leak") == {"out-2"}
    assert ids(flag="judge.") == {"out-1"}
    assert ids(flag="judge") == set()  # no partial reason match without the dot
    assert ids(since=t0 + timedelta(hours=1), kind="output") == {"out-2"}
    assert ids(until=t0 + timedelta(hours=1)) == {"out-1"}
    queue.decide("out-1", approve())
    assert ids(status=["pending"]) == {"out-2", "act-3"}
    assert ids(status=["decided"]) == {"out-1"}
    assert queue.count(ItemFilter(status=["pending"])) == 2


def test_like_wildcards_in_filters_are_literal(queue):
    queue.enqueue_many([output(1, tags=["a%b"]), output(2, tags=["axxb"])])
    assert {s.id for s in queue.list_items(ItemFilter(tag="a%b"))} == {"out-1"}


def test_keyset_pagination_visits_every_item_once(queue):
    queue.enqueue_many([output(i, priority=i % 3) for i in range(57)])
    seen, after = [], None
    while True:
        page = queue.list_items(limit=10, after=after)
        seen += [s.id for s in page]
        if len(page) < 10:
            break
        after = page[-1].id
    assert len(seen) == 57 and len(set(seen)) == 57
    assert seen == [s.id for s in queue.list_items(limit=100)]


def test_stats_counts_states_and_decided_today(queue):
    queue.enqueue_many([output(i) for i in range(4)])
    queue.decide("out-0", approve())
    queue.claim("out-1", "bob")
    s = queue.stats()
    assert (s["pending"], s["claimed"], s["decided"], s["decided_today"], s["total"]) == (2, 1, 1, 1, 4)
    assert s["median_decision_ms"] == 0  # no decision was timed
    queue.decide("out-2", approve(duration_ms=4000))
    queue.decide("out-3", approve(duration_ms=9000))
    queue.enqueue(output(9))
    queue.decide("out-9", approve("bob", duration_ms=30000))
    assert queue.stats()["median_decision_ms"] == 9000


def test_get_many_returns_items_with_their_decisions_in_the_order_asked(queue):
    queue.enqueue_many([output(i) for i in range(3)] + [action(9)])
    queue.decide("out-1", approve())
    got = queue.get_many(["act-9", "nope", "out-1", "out-0"])
    assert [g.id for g in got] == ["act-9", "out-1", "out-0"]
    assert [d.verdict for d in got[1].decisions] == ["approve"] and got[2].decisions == []
    assert got[0].item.action.tool == "issue_refund"
    assert len(queue.get_many([f"out-{i % 3}" for i in range(1200)])) == 1200  # more than one page


def test_get_unknown_raises_not_found(queue):
    with pytest.raises(NotFound):
        queue.get("nope")


def test_hostile_content_is_stored_byte_for_byte(queue):
    text = "\n".join(HOSTILE) + "\u0000tail"
    queue.enqueue(output("h", output=text, tags=["[bold]x[/]"]))
    got = queue.get("out-h")
    assert got.item.output == text
    assert got.tags == ["[bold]x[/]"]


def test_claim_next_leases_most_urgent_and_never_twice(queue):
    queue.enqueue_many([output(1, priority=1), output(2, priority=0)])
    a = queue.claim_next("alice").lease
    b = queue.claim_next("bob").lease
    assert (a.item_id, b.item_id) == ("out-2", "out-1")
    assert queue.claim_next("carol") is None
    assert queue.get("out-2").claimed_by == "alice"


def test_claim_next_respects_filter(queue):
    queue.enqueue_many([output(1, queue="a"), output(2, queue="b")])
    assert queue.claim_next("alice", ItemFilter(queue="b")).lease.item_id == "out-2"


def test_claim_by_id_refuses_item_held_by_another(queue):
    queue.enqueue(output(1))
    lease = queue.claim("out-1", "alice").lease
    with pytest.raises(LeaseError, match="alice"):
        queue.claim("out-1", "bob")
    again = queue.claim("out-1", "alice").lease  # re-opening your own item keeps your lease
    assert again.token == lease.token


def test_expired_lease_returns_item_to_pending(queue, clock):
    queue.enqueue(output(1))
    queue.claim("out-1", "alice", lease_s=60)
    clock.advance(61)
    lease = queue.claim_next("bob").lease
    assert lease.item_id == "out-1" and lease.reviewer == "bob"
    actions = [a.action for a in queue.audit("out-1")]
    assert actions == ["enqueue", "claim", "lease_expired", "claim"]


def test_renew_and_release(queue):
    queue.enqueue(output(1))
    lease = queue.claim("out-1", "alice", lease_s=5).lease
    renewed = queue.renew(lease, lease_s=600)
    assert renewed.expires_at > lease.expires_at
    queue.release(renewed)
    assert queue.get("out-1").status == "pending"
    with pytest.raises(LeaseError):
        queue.renew(renewed)
    queue.release(renewed)  # no-op


def test_decide_needs_the_lease_when_one_is_held(queue):
    queue.enqueue(output(1))
    lease = queue.claim("out-1", "alice").lease
    with pytest.raises(LeaseError):
        queue.decide("out-1", approve("bob"))
    d = queue.decide("out-1", approve(), lease=lease)
    item = queue.get("out-1")
    assert (item.status, item.verdict, item.decided_by, item.claimed_by) == ("decided", "approve", "alice", None)
    assert d.seq > 0


def test_decide_with_a_lost_lease_is_refused(queue):
    queue.enqueue(output(1))
    lease = queue.claim("out-1", "alice").lease
    queue.release(lease)
    with pytest.raises(LeaseError):
        queue.decide("out-1", approve(), lease=lease)


def test_decide_is_idempotent_by_decision_id(queue):
    queue.enqueue_many([output(1), output(2)])
    d1 = queue.decide("out-1", approve(id="dec-1"))
    d2 = queue.decide("out-1", approve(id="dec-1"))
    assert d1.id == d2.id and d1.seq == d2.seq
    assert len(queue.get("out-1").decisions) == 1
    with pytest.raises(Conflict):
        queue.decide("out-2", approve(id="dec-1"))


def test_decide_twice_is_refused(queue):
    queue.enqueue(output(1))
    queue.decide("out-1", approve())
    with pytest.raises(AlreadyDecided):
        queue.decide("out-1", DecisionIn(verdict="reject", reviewer="bob"))


def test_decision_shape_is_checked(queue):
    queue.enqueue_many([output(1), action(2)])
    with pytest.raises(Invalid, match="correction"):
        queue.decide("out-1", DecisionIn(verdict="correct", reviewer="a"))
    with pytest.raises(Invalid, match="actions"):
        queue.decide("out-1", approve(arguments={"x": 1}))
    with pytest.raises(Invalid, match="arguments"):
        queue.decide("act-2", DecisionIn(verdict="correct", reviewer="a"))


def test_correction_and_edited_arguments_are_kept(queue):
    queue.enqueue_many([output(1), action(2)])
    queue.decide("out-1", DecisionIn(verdict="correct", reviewer="a", correction="fixed",
                                     reasons=["wrong_numbers"], comment="c", duration_ms=1200))
    queue.decide("act-2", DecisionIn(verdict="correct", reviewer="a", arguments={"order_id": "2", "amount": 5}))
    d = queue.get("out-1").decisions[-1]
    assert (d.correction, d.reasons, d.comment, d.duration_ms) == ("fixed", ["wrong_numbers"], "c", 1200)
    act = queue.get("act-2")
    assert act.decisions[-1].arguments == {"order_id": "2", "amount": 5}
    assert act.item.action.arguments == {"order_id": "2", "amount": 10.0}  # original kept


def test_undo_appends_a_revert_and_requeues(queue):
    queue.enqueue(output(1))
    d = queue.decide("out-1", approve())
    r = queue.undo("out-1", "alice")
    assert (r.verdict, r.reverts) == ("revert", d.id)
    item = queue.get("out-1")
    assert item.status == "pending" and item.verdict is None
    assert [x.verdict for x in item.decisions] == ["approve", "revert"]
    queue.decide("out-1", DecisionIn(verdict="reject", reviewer="bob"))
    assert [x.verdict for x in queue.get("out-1").decisions] == ["approve", "revert", "reject"]
    queue.undo("out-1", "bob")
    with pytest.raises(Conflict, match="no decision to undo"):
        queue.undo("out-1", "bob")


def test_similar_finds_open_near_duplicates_in_the_same_queue_nearest_first(queue):
    ask = lambda q: {"messages": [{"role": "user", "content": q}]}  # noqa: E731
    text = "You can return the headphones within 90 days for a full refund, no questions asked."
    queue.enqueue_many([
        output(1, output=text, input=ask("Can I return my headphones?")),
        output(2, output=text.replace("90", "60"), input=ask("Can I return my headphones?")),
        output(3, output="No questions asked: a full refund within 90 days, you can return the headphones.",
               input=ask("can i return my headphones")),
        output(4, output=text, input=ask("Can I return my headphones?"), queue="other"),
        output(5, output="Our offices are closed on public holidays.", input=ask("When are you open?")),
        output(6, output=text, input=ask("Can I return my headphones?")),
        action(7),
    ])
    call = {"tool": "issue_refund", "arguments": {"order_id": "55120", "amount": 249.0}}
    queue.enqueue_many([action(8, action=call, input=ask("refund please")),
                        action(9, action=call, input=ask("money back now")), action(10, input=ask("refund please"))])
    queue.decide("out-6", approve())
    # the same words in another order are a near-duplicate; another figure (60 days) is not
    assert [s.id for s in queue.similar("out-1")] == ["out-3"]
    assert queue.similar("out-5") == []
    assert [s.id for s in queue.similar("act-8")] == ["act-9"]  # the same call, asked differently
    with pytest.raises(NotFound):
        queue.similar("nope")


def test_k_reviews_keep_an_output_open_until_k_reviewers_agree_or_one_more_adjudicates(queue):
    queue.set_queue_settings("q1", QueueSettings(reviews_per_item=2), actor="admin")
    queue.enqueue_many([output(1), output(2), action(3, queue="q1")])
    queue.decide("out-1", approve("alice"))
    assert queue.get("out-1").status == "pending"
    with pytest.raises(Conflict, match="already reviewed"):
        queue.decide("out-1", approve("alice"))
    queue.decide("out-1", approve("bob"))
    assert (queue.get("out-1").status, queue.get("out-1").verdict) == ("decided", "approve")

    queue.decide("out-2", approve("alice"))
    queue.decide("out-2", DecisionIn(verdict="reject", reviewer="bob", reasons=["hallucination"]))
    disputed = queue.get("out-2")
    assert (disputed.status, disputed.verdict) == ("pending", "disputed")
    assert {s.id: s.verdict for s in queue.list_items(ItemFilter(status=["pending"]))}["out-2"] == "disputed"
    with pytest.raises(Conflict):
        queue.decide("out-2", approve("bob"))
    queue.decide("out-2", DecisionIn(verdict="reject", reviewer="carol", reasons=["hallucination"]))
    settled = queue.get("out-2")
    assert (settled.status, settled.verdict, settled.decided_by) == ("decided", "reject", "carol")
    assert [a.action for a in queue.audit("out-2") if a.action != "enqueue"] == ["review", "disputed", "decide"]
    queue.decide("act-3", approve("alice"))  # actions are settled by one reviewer (or two approvers)
    assert queue.get("act-3").status == "decided"


def test_bulk_decision_decides_what_it_can_and_says_why_not_for_the_rest(queue):
    queue.enqueue_many([output(1), output(2), output(3), action(4, risk="critical"), action(5), output(6)])
    queue.claim("out-3", "bob")
    queue.decide("out-6", approve("carol"))
    batch = BatchIn(item_ids=["out-1", "out-2", "out-3", "act-4", "act-5", "out-6", "nope"],
                    decision=approve(comment="all fine"))
    res = queue.decide_many(batch)
    assert res.batch == batch.decision.id
    assert res.decided == ["out-1", "out-2", "act-5"]
    assert set(res.skipped) == {"out-3", "act-4", "out-6", "nope"}
    assert "claimed by bob" in res.skipped["out-3"]
    assert "never approved in bulk" in res.skipped["act-4"]
    assert "already decided" in res.skipped["out-6"]
    d = queue.get("out-2").decisions[-1]
    assert (d.verdict, d.reviewer, d.comment, d.batch) == ("approve", "alice", "all fine", res.batch)
    assert queue.get("act-4").status == "pending" and queue.get("out-3").status == "claimed"
    # sent again (a retry after a lost answer): nothing new is recorded
    again = queue.decide_many(batch)
    assert again.decided == res.decided
    assert len(queue.get("out-1").decisions) == 1


def test_bulk_reject_needs_reasons_from_the_taxonomy_and_refuses_corrections(queue):
    queue.enqueue_many([output(1), output(2)])
    res = queue.decide_many(BatchIn(item_ids=["out-1"], decision=DecisionIn(
        verdict="reject", reviewer="alice", reasons=["made_up"])))
    assert res.decided == [] and "taxonomy" in res.skipped["out-1"]
    res = queue.decide_many(BatchIn(item_ids=["out-1", "out-2"], decision=DecisionIn(
        verdict="reject", reviewer="alice", reasons=["hallucination"])))
    assert res.decided == ["out-1", "out-2"]
    assert queue.get("out-2").decisions[-1].reasons == ["hallucination"]
    with pytest.raises(ValueError, match="one by one"):
        BatchIn(item_ids=["out-1"], decision=DecisionIn(verdict="correct", reviewer="a", correction="x"))
    with pytest.raises(Invalid, match="reserved"):
        queue.decide_many(BatchIn(item_ids=["out-1"], decision=approve("system")))


def test_one_undo_reverts_a_whole_batch_but_not_what_was_decided_again(queue):
    queue.enqueue_many([output(i) for i in range(1, 5)])
    res = queue.decide_many(BatchIn(item_ids=[f"out-{i}" for i in range(1, 5)], decision=approve()))
    queue.undo("out-4", "alice")
    queue.decide("out-4", DecisionIn(verdict="reject", reviewer="alice", reasons=["hallucination"]))
    with pytest.raises(Forbidden):
        queue.undo_batch(res.batch, "bob")
    back = queue.undo_batch(res.batch, "alice")
    assert back.decided == ["out-1", "out-2", "out-3"]
    assert "decided again" in back.skipped["out-4"]
    assert {queue.get(f"out-{i}").status for i in range(1, 4)} == {"pending"}
    assert queue.get("out-4").verdict == "reject"
    assert queue.get("out-1").decisions[-1].verdict == "revert"
    with pytest.raises(NotFound):
        queue.undo_batch("no-such-batch", "alice")


def test_overdue_actions_expire_as_system_reject(queue, clock):
    past = clock() - timedelta(seconds=1)
    queue.enqueue_many([action(1, expires_at=past.isoformat(), timeout_s=None), action(2), output(3)])
    assert queue.expire_overdue() == ["act-1"]
    item = queue.get("act-1")
    assert item.status == "expired"
    d = item.decisions[-1]
    assert (d.verdict, d.reviewer, d.reasons) == ("reject", "system", ["timeout"])
    with pytest.raises(Expired):
        queue.decide("act-1", approve())
    assert queue.get("act-2").status == "pending"


def test_approving_after_the_deadline_is_refused(queue, clock):
    queue.enqueue(action(1, timeout_s=60))
    lease = queue.claim("act-1", "alice", lease_s=600).lease
    clock.advance(60)
    with pytest.raises(Expired):
        queue.decide("act-1", approve(), lease=lease)
    assert queue.get("act-1").status == "expired"


def test_claim_next_skips_overdue_actions(queue, clock):
    queue.enqueue(action(1, timeout_s=30))
    clock.advance(30)
    assert queue.claim_next("alice") is None
    assert queue.get("act-1").status == "expired"


def test_decisions_feed_since_cursor(queue):
    queue.enqueue_many([output(i) for i in range(3)])
    queue.decide("out-0", approve())
    queue.decide("out-1", approve())
    first = queue.decisions_since(0)
    assert [d.item_id for d in first] == ["out-0", "out-1"]
    queue.undo("out-0", "alice")
    later = queue.decisions_since(first[-1].seq)
    assert [(d.item_id, d.verdict) for d in later] == [("out-0", "revert")]
    assert queue.decisions_since(later[-1].seq) == []


def test_every_state_change_is_audited(queue):
    queue.enqueue(output(1))
    lease = queue.claim("out-1", "alice").lease
    lease = queue.renew(lease)
    queue.decide("out-1", approve(), lease=lease)
    queue.undo("out-1", "alice")
    log = queue.audit("out-1")
    assert [a.action for a in log] == ["enqueue", "claim", "renew", "decide", "undo"]
    assert log[3].actor == "alice" and log[3].detail["verdict"] == "approve"
    assert all(a.origin for a in log)


def test_failed_decision_leaves_no_trace(queue):
    queue.enqueue(output(1))
    queue.claim("out-1", "alice")
    before = len(queue.audit())
    with pytest.raises(LeaseError):
        queue.decide("out-1", approve("bob"))
    assert len(queue.audit()) == before
    assert queue.decisions_since(0) == []


def test_export_cursors_persist(queue):
    assert queue.get_cursor("golden") == 0
    queue.set_cursor("golden", 7)
    queue.set_cursor("golden", 9)
    assert queue.get_cursor("golden") == 9


def test_claim_returns_the_item(queue):
    queue.enqueue(output(1))
    claimed = queue.claim("out-1", "alice")
    assert claimed.item.item.output == "answer number 1" and claimed.item.claimed_by == "alice"
    assert claimed.lease.item_id == "out-1"


def test_decide_and_next_claims_the_item_after_the_decided_one(queue):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    queue.enqueue_many([output(i, priority=1, created_at=(t0 + timedelta(minutes=i)).isoformat())
                        for i in range(4)])
    first = queue.claim("out-1", "alice").lease
    decided, nxt = queue.decide_and_next("out-1", approve(), lease=first, then=NextItem(order="triage"))
    assert decided.verdict == "approve" and nxt is not None
    assert nxt.lease.item_id == "out-2" and nxt.item.claimed_by == "alice"  # not out-0: it came before
    _, last = queue.decide_and_next("out-2", approve(), lease=nxt.lease, then=NextItem(order="triage"))
    assert last is not None and last.lease.item_id == "out-3"
    _, none = queue.decide_and_next("out-3", approve(), lease=last.lease, then=NextItem(order="triage"))
    assert none is None


def test_decide_and_next_through_a_list_of_ids(queue):
    queue.enqueue_many([output(i) for i in range(4)])
    queue.claim("out-2", "bob")
    spec = NextItem(ids=["out-3", "out-0", "out-2", "out-1"])
    _, nxt = queue.decide_and_next("out-0", approve(), then=spec)
    assert nxt is not None and nxt.lease.item_id == "out-1"  # out-2 is held by bob


def test_triage_keyset_paging_walks_actions_then_outputs(queue):
    queue.enqueue_many([output(i, priority=i % 3) for i in range(5)] + [action(1), action(2, timeout_s=60)])
    everything = [s.id for s in queue.list_items(order="triage", limit=100)]
    assert everything[:2] == ["act-2", "act-1"]  # soonest deadline first
    paged, after = [], None
    while True:
        page = queue.list_items(order="triage", limit=1 if len(paged) < 3 else 3, after=after)
        if not page:
            break
        paged += [s.id for s in page]
        after = page[-1].id
    assert paged == everything


def test_claim_next_backwards_finds_the_previous_pending_item(queue):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    queue.enqueue_many([output(i, created_at=(t0 + timedelta(minutes=i)).isoformat()) for i in range(3)])
    prev = queue.claim_next("alice", NextItem(order="priority"), after="out-2", backwards=True)
    assert prev is not None and prev.lease.item_id == "out-1"


def test_search_matches_prefixes_typos_and_ids_best_first(queue):
    queue.enqueue_many([
        output("pw", output="To reset your password open the account page."),
        output("refund", output="Refunds are issued within 30 days of delivery."),
        output("both", output="Password resets do not affect refunds."),
    ])
    assert sorted(s.id for s in queue.search("refu")) == ["out-both", "out-refund"]
    assert [s.id for s in queue.search("out-refund")][0] == "out-refund"
    assert queue.search("zzzzqqq") == []
    assert [s.id for s in queue.search("password", ItemFilter(ids=["out-both"]))] == ["out-both"]


def test_changes_returns_the_rows_that_changed(queue):
    queue.enqueue_many([output(i) for i in range(3)])
    token = queue.changes().token
    assert queue.changes(token).rows == []
    queue.decide("out-1", approve())
    changed = queue.changes(token)
    assert changed.token > token and [(r.id, r.status) for r in changed.rows] == [("out-1", "decided")]


def test_wait_for_decision_returns_when_the_item_is_decided(queue):
    import threading

    queue.enqueue_many([action(1), action(2)])
    timer = threading.Timer(0.2, lambda: queue.decide("act-1", approve()))
    timer.start()
    t = time.monotonic()
    item = queue.wait_for_decision("act-1", 10)
    assert item.status == "decided" and time.monotonic() - t < 5
    assert queue.wait_for_decision("act-2", 0.05).status == "pending"  # times out


def test_search_forgives_a_typo_on_sqlite(squeue):
    """Typo correction reads the FTS5 index's vocabulary (PostgreSQL matches prefixes only)."""
    squeue.enqueue_many([output("pw", output="To reset your password open the account page."),
                         output("x", output="Nothing to see here.")])
    assert [s.id for s in squeue.search("pasword reset")] == ["out-pw"]


def test_a_queue_keeps_and_enforces_its_own_settings(queue, clock):
    assert queue.queue_settings("payments") == QueueSettings()
    queue.set_queue_settings("payments", QueueSettings(two_approvers=True, reasons=["fraud"], lease_s=60,
                                                       guidelines="Check the IBAN."), actor="admin")
    assert queue.all_queue_settings()["payments"].reasons == ["fraud"]
    queue.enqueue(action(1, queue="payments", risk="critical"))
    claim = queue.claim("act-1", "alice", lease_s=600)
    assert claim.settings.guidelines == "Check the IBAN."
    assert claim.settings.reasons_for("action") == ["fraud"]
    assert claim.lease.expires_at == clock() + timedelta(seconds=60)  # the queue's lease wins
    assert queue.renew(claim.lease, lease_s=900).expires_at == clock() + timedelta(seconds=60)
    queue.decide("act-1", approve("alice"), lease=claim.lease)
    assert queue.get("act-1").status == "pending"  # one of two approvals
    with pytest.raises(Conflict, match="different approver"):
        queue.decide("act-1", approve("alice"))
    queue.decide("act-1", approve("bob"))
    assert queue.get("act-1").status == "decided"
    assert any(a.action == "queue_settings" and a.actor == "admin" for a in queue.audit())
    with pytest.raises(Invalid):
        queue.set_queue_settings("bad\x1bname", QueueSettings(), actor="admin")


def test_a_reviewers_reasons_come_from_the_queues_taxonomy(queue):
    queue.enqueue_many([output(1), output(2)])
    name = queue.get("out-1").queue
    with pytest.raises(Invalid, match=f"not in queue {name}'s taxonomy"):
        queue.decide("out-1", DecisionIn(verdict="reject", reviewer="alice", reasons=["made_up"]))
    queue.set_queue_settings(name, QueueSettings(reasons=["made_up"]), actor="admin")
    queue.decide("out-1", DecisionIn(verdict="reject", reviewer="alice", reasons=["made_up"]))
    with pytest.raises(Invalid):
        queue.decide("out-2", DecisionIn(verdict="reject", reviewer="alice", reasons=["tone"]))


def suggestion(item_id: str, **kw):
    from reviewer.models import Suggestion

    base = {"item_id": item_id, "model": "openai/gpt-4o-mini", "prompt_version": "judge-v1@abc",
            "verdict": "reject", "reasons": ["hallucination"], "rationale": " ".join(HOSTILE), "confidence": 0.7,
            "tokens_in": 120, "tokens_out": 40, "cost_usd": 0.0002}
    return Suggestion.model_validate(base | kw)


def test_a_suggestion_is_stored_with_the_item_and_never_decides_it(queue):
    queue.enqueue(output(1))
    made = queue.suggest(suggestion("out-1"), actor="judge-runner")
    assert made.created_at is not None and made.by == "judge-runner"
    got = queue.get("out-1")
    assert got.status == "pending" and got.decisions == []  # a suggestion is not a decision
    [s] = got.suggestions
    assert (s.verdict, s.reasons, s.rationale, s.cost_usd) == ("reject", ["hallucination"], " ".join(HOSTILE), 0.0002)
    # asking the same model with the same prompt again replaces it; another prompt adds one
    queue.suggest(suggestion("out-1", verdict="approve", reasons=[], confidence=0.9), actor="judge-runner")
    queue.suggest(suggestion("out-1", prompt_version="queue@def"), actor="judge-runner")
    got = queue.get_many(["out-1"])[0]
    assert [(s.prompt_version, s.verdict) for s in got.suggestions] == [("judge-v1@abc", "approve"),
                                                                         ("queue@def", "reject")]
    assert queue.claim("out-1", "alice").item.suggestions[-1].prompt_version == "queue@def"
    assert [a.action for a in queue.audit("out-1")].count("suggest") == 3


def test_a_suggestion_must_fit_its_item_and_the_queues_reasons(queue):
    queue.enqueue_many([output(1), action(2)])
    with pytest.raises(Invalid, match="taxonomy"):
        queue.suggest(suggestion("out-1", reasons=["made_up"]), actor="j")
    with pytest.raises(Invalid, match="correction needs"):
        queue.suggest(suggestion("out-1", verdict="correct"), actor="j")
    with pytest.raises(Invalid, match="arguments"):
        queue.suggest(suggestion("act-2", verdict="correct", reasons=["wrong_arguments"],
                                 correction="text"), actor="j")
    with pytest.raises(NotFound):
        queue.suggest(suggestion("nope"), actor="j")
    ok = queue.suggest(suggestion("act-2", verdict="correct", reasons=["wrong_arguments"],
                                  arguments={"amount": 1}), actor="j")
    assert queue.get("act-2").suggestions == [ok]
