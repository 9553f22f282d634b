"""The review session without a screen: open, step, decide-and-next, renew, read-only."""

from __future__ import annotations

from tuikit import make_queue

from reviewer.models import DecisionIn, ItemFilter
from reviewer.screens.session import FIRST, ReviewSession
from reviewer.screens.source import FilterSource, SearchSource


def session(queue, reviewer: str = "alice", **flt) -> ReviewSession:
    return ReviewSession(lambda: queue, reviewer, FilterSource(queue, ItemFilter(status=["pending", "claimed"], **flt)))


def test_decide_moves_to_the_next_item_in_list_order(tmp_path):
    q = make_queue(tmp_path)
    s = session(q, kind="output")
    shown = s.open("fin-1")
    assert shown.item.id == "fin-1" and shown.lease is not None
    after = s.decide(shown.item, DecisionIn(verdict="approve", reviewer="alice"), shown.lease)
    assert after.decided.item_id == "fin-1" and after.item.id == "sup-1" and after.lease is not None
    assert q.get("fin-1").status == "decided" and q.get("sup-1").claimed_by == "alice"


def test_skip_releases_and_back_finds_nothing_before_the_first(tmp_path):
    q = make_queue(tmp_path)
    s = session(q, kind="output")
    first = s.open("fin-1")
    skipped = s.step("fin-1", release=first.lease)
    assert skipped.item.id == "sup-1" and q.get("fin-1").status == "pending"
    back = s.step("sup-1", backwards=True, release=skipped.lease)
    assert back.item.id == "fin-1"
    assert s.step("fin-1", backwards=True, release=back.lease).note == FIRST


def test_an_item_held_by_someone_else_opens_read_only(tmp_path):
    q = make_queue(tmp_path)
    q.claim("fin-1", "bob")
    shown = session(q).open("fin-1")
    assert shown.item.id == "fin-1" and shown.lease is None and "bob" in shown.note


def test_search_results_are_walked_in_their_order(tmp_path):
    q = make_queue(tmp_path)
    s = ReviewSession(lambda: q, "alice", SearchSource(q, ["rag-2", "fin-1", "rag-1"]))
    shown = s.open("rag-2")
    nxt = s.decide(shown.item, DecisionIn(verdict="approve", reviewer="alice"), shown.lease)
    assert nxt.item.id == "fin-1"


def test_renew_reports_a_lost_lease(tmp_path):
    q = make_queue(tmp_path)
    s = session(q)
    shown = s.open("fin-1")
    assert s.renew(shown.lease)[0] is not None
    q.release(shown.lease)
    lease, why = s.renew(shown.lease)
    assert lease is None and "lost" in why
