"""A review session without a screen: open an item, step to the next or previous one,
decide-and-next, renew. Each call is one blocking queue call (two for a skip), made from a
worker thread; its inputs are arguments and its answer a `Shown`. `ReviewScreen` turns
answers into widgets; tests drive a session directly, without Pilot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.errors import AlreadyDecided, LeaseError, NotFound, Offline
from reviewer.rules import is_critical_action
from reviewer.vocab import DEFAULT_LEASE_S

if TYPE_CHECKING:
    from reviewer.models import Decision, DecisionIn, Lease, QueueItem, QueueSettings
    from reviewer.queue import ReviewQueue

    from .source import Source

FIRST = "This is the first item you can review here."


@dataclass(frozen=True)
class Shown:
    """What to show next: an item (None: nothing left), the lease held on it (None:
    read-only), why it is read-only or nothing moved, the decision that led here, and the
    item's queue settings (guidelines, reasons, lease length)."""

    item: QueueItem | None
    lease: Lease | None = None
    note: str | None = None
    decided: Decision | None = None
    first_of_two: bool = False
    settings: QueueSettings | None = None
    offline: bool = False  # the gateway is away: the decision waits in the outbox


@dataclass(frozen=True)
class ReviewSession:
    queue: Callable[[], ReviewQueue]  # waits while the queue is still opening
    reviewer: str
    source: Source

    def open(self, item_id: str | None, index: int = 0) -> Shown:
        """Claim this item (or the one at `index` of the source); read-only if that fails."""
        q = self.queue()
        if item_id is None:
            rows = self.source.fetch(index, 1)
            item_id = rows[0].id if rows else None
        if item_id is None:
            return Shown(None)
        try:
            claimed = q.claim(item_id, self.reviewer, lease_s=DEFAULT_LEASE_S)
            return Shown(claimed.item, claimed.lease, settings=claimed.settings)
        except (LeaseError, AlreadyDecided) as e:
            item = q.get(item_id)
            return Shown(item, None, str(e), settings=q.queue_settings(item.queue))
        except NotFound as e:
            return Shown(None, None, str(e))

    def step(self, current: str | None, *, backwards: bool = False, release: Lease | None = None) -> Shown:
        """Give back `release`, then claim the next (previous) pending item after `current`."""
        q = self.queue()
        if release is not None:
            q.release(release)
        claimed = q.claim_next(self.reviewer, self.source.walk(), after=current, backwards=backwards,
                               lease_s=DEFAULT_LEASE_S)
        if claimed is None:
            return Shown(None, None, FIRST if backwards else None)
        return Shown(claimed.item, claimed.lease, settings=claimed.settings)

    def step_if_pending(self) -> Shown:
        """`step` from the start, only when some item is pending at all: an idle "Queue done"
        polls this, so it reads (one count) rather than taking a write transaction to claim."""
        from reviewer.models import ItemFilter

        if not self.queue().count(ItemFilter(status=["pending"])):
            return Shown(None, None, None)
        return self.step(None)

    def decide(self, item: QueueItem, decision: DecisionIn, lease: Lease | None) -> Shown:
        """Record `decision` on `item` and claim the next one: one queue call."""
        q = self.queue()
        try:
            recorded, claimed = q.decide_and_next(item.id, decision, lease=lease, then=self.source.walk(),
                                                  lease_s=DEFAULT_LEASE_S)
        except Offline as e:
            return Shown(None, None, str(e), offline=True)
        first_of_two = (is_critical_action(item.item) and recorded.verdict != "reject"
                        and q.get(item.id).status == "pending")
        if claimed is None:
            return Shown(None, decided=recorded, first_of_two=first_of_two)
        return Shown(claimed.item, claimed.lease, decided=recorded, first_of_two=first_of_two,
                     settings=claimed.settings)

    def renew(self, lease: Lease, lease_s: float = DEFAULT_LEASE_S) -> tuple[Lease | None, str | None]:
        """The renewed lease, or None and why it was lost."""
        try:
            return self.queue().renew(lease, lease_s=lease_s), None
        except LeaseError as e:
            return None, str(e)
