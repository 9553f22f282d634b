"""`ReviewQueue`: the one interface the TUI, the CLI, the gate and the gateway use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from .models import (
    ActionItem,
    AuditEntry,
    Decision,
    DecisionIn,
    EnqueueResult,
    ItemFilter,
    ItemSummary,
    Lease,
    OutputItem,
    QueueItem,
)
from .vocab import DEFAULT_LEASE_S

__all__ = ["DEFAULT_LEASE_S", "ReviewQueue"]


@runtime_checkable
class ReviewQueue(Protocol):
    """A queue of items awaiting human review. All times are UTC."""

    def enqueue(self, item: OutputItem | ActionItem, *, actor: str = "ingest") -> EnqueueResult:
        """Add one item; idempotent by its id (same content: `unchanged`; else `conflict`)."""

    def enqueue_many(
        self, items: Sequence[OutputItem | ActionItem], *, actor: str = "ingest"
    ) -> list[EnqueueResult]:
        """Add many items in one transaction; one result per item, in order."""

    def get(self, item_id: str) -> QueueItem:
        """One item with its content and decisions; raises NotFound."""

    def list(
        self,
        flt: ItemFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
        order: str = "priority",
    ) -> list[ItemSummary]:
        """Items matching `flt`, sorted by `order`: `priority` (then age), `age`, `recent`,
        `deadline`, or `triage` (open actions by deadline first, then by priority).

        Page with `after` (the `cursor` of the last row seen: keyset pagination) or `offset`.
        """

    def list_ids(self, flt: ItemFilter | None = None, *, order: str = "priority") -> list[str]:
        """The ids of every item matching `flt`, in `order` (cheap: ids only)."""

    def count(self, flt: ItemFilter | None = None) -> int:
        """How many items match `flt`."""

    def stats(self) -> dict[str, int]:
        """Counts by status, plus `decided_today`."""

    def facets(self) -> dict[str, list[str]]:
        """Distinct `queues`, `tags` and `flags` (reasons), for filter pickers."""

    def search_texts(self, flt: ItemFilter | None = None) -> list[tuple[str, str]]:
        """(id, searchable text) for every matching item, for fuzzy search."""

    def claim_next(
        self, reviewer: str, flt: ItemFilter | None = None, *, lease_s: float = DEFAULT_LEASE_S
    ) -> Lease | None:
        """Lease the most urgent pending item, or None when there is none."""

    def claim(self, item_id: str, reviewer: str, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        """Lease one item; raises LeaseError when another reviewer holds it."""

    def renew(self, lease: Lease, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        """Extend a lease still held; raises LeaseError when it was lost."""

    def release(self, lease: Lease) -> None:
        """Give the item back to the queue (no-op when the lease is already gone)."""

    def decide(
        self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None
    ) -> Decision:
        """Record a decision; idempotent by decision id. Needs the lease if one is held."""

    def decide_by_policy(self, item_id: str, verdict: str, rule: str) -> Decision:
        """Settle an action by policy rule `rule` (`approve` or `reject`), recorded as such."""

    def undo(self, item_id: str, reviewer: str) -> Decision:
        """Append a revert of the item's last decision and return the item to the queue."""

    def expire(self, item_id: str, comment: str = "deadline passed") -> QueueItem:
        """Expire one open action now (system reject, reason `timeout`); settled items are
        returned unchanged."""

    def expire_overdue(self, now: datetime | None = None) -> list[str]:
        """Expire actions past their deadline (a reject by `system`, reason `timeout`)."""

    def decisions_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Decision]:
        """Decisions (and reverts) with `seq > cursor`, oldest first."""

    def audit(self, item_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        """The audit log, oldest first."""

    def get_cursor(self, name: str) -> int:
        """The stored position of export cursor `name` (0 when new)."""

    def set_cursor(self, name: str, position: int) -> None:
        """Store export cursor `name` at `position`."""

    def change_token(self) -> int:
        """A number that changes with every state change (cheap to read)."""

    def wait_for_change(self, last: int | None, timeout_s: float, *, poll_s: float = 0.01) -> int:
        """Block until the queue may have changed since token `last`, or timeout; cheap."""

    def close(self) -> None:
        """Release connections."""

