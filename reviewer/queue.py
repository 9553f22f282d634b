"""`ReviewQueue`: the one interface the TUI, the CLI, the gate and the gateway use.

Shaped for a network: each user action is one call (a claim returns the item; deciding and
claiming the next item is one call; search runs in the queue), and no call returns the whole
queue. A waiting agent waits on its own item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from .models import (
    ActionItem,
    AuditEntry,
    BatchIn,
    BatchResult,
    Changes,
    Claim,
    Decision,
    DecisionIn,
    EnqueueResult,
    ItemFilter,
    ItemSummary,
    Lease,
    NextItem,
    OutputItem,
    QueueItem,
    QueueSettings,
    Suggestion,
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

    def get_many(self, item_ids: Sequence[str]) -> list[QueueItem]:
        """Many items with their content and decisions, in the order asked; unknown ids are
        left out."""

    def list_items(
        self,
        flt: ItemFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
        order: str = "priority",
    ) -> list[ItemSummary]:
        """One page of items matching `flt`, sorted by `order`: `priority` (then age), `age`,
        `recent`, `deadline`, or `triage` (open actions by deadline first, then by priority).

        Page with `after` (the id of the last row seen: keyset paging, in triage, priority
        and age order) or with `offset` (for jumps).
        """

    def count(self, flt: ItemFilter | None = None) -> int:
        """How many items match `flt`."""

    def stats(self) -> dict[str, int]:
        """Counts by status, plus `decided_today`, `total`, and `median_decision_ms` (how long
        the recent decisions took a reviewer, from each decision's `duration_ms`; 0 if none)."""

    def facets(self) -> dict[str, list[str]]:
        """Distinct `queues`, `tags` and `flags` (reasons), for filter pickers."""

    def search(self, query: str, flt: ItemFilter | None = None, *, limit: int = 100) -> list[ItemSummary]:
        """Items matching `flt` whose text (output or tool call, last user message, tags,
        flags, id) matches `query` as typed so far, typos forgiven, best match first."""

    def similar(self, item_id: str, *, limit: int = 100) -> list[ItemSummary]:
        """Open items of the same queue and kind whose output (or tool call) and last user
        message nearly match this item's, nearest first, without the item itself."""

    def changes(self, since: int | None = None, *, limit: int = 500) -> Changes:
        """The current change token and, since token `since`, the current rows of the items
        whose state changed (at most `limit`)."""

    def claim_next(
        self, reviewer: str, where: ItemFilter | NextItem | None = None, *,
        after: str | None = None, backwards: bool = False, lease_s: float = DEFAULT_LEASE_S,
    ) -> Claim | None:
        """Claim the first pending item of `where` (a filter, in priority order; or a
        NextItem), after item `after` if given (before it, `backwards`); None when none."""

    def claim(self, item_id: str, reviewer: str, *, lease_s: float = DEFAULT_LEASE_S) -> Claim:
        """Claim one item and return it; raises LeaseError when another reviewer holds it."""

    def renew(self, lease: Lease, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        """Extend a lease still held; raises LeaseError when it was lost."""

    def release(self, lease: Lease) -> None:
        """Give the item back to the queue (no-op when the lease is already gone)."""

    def decide(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None) -> Decision:
        """Record a decision; idempotent by decision id. Needs the lease if one is held."""

    def decide_and_next(
        self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None,
        then: NextItem | None = None, lease_s: float = DEFAULT_LEASE_S,
    ) -> tuple[Decision, Claim | None]:
        """Record a decision, then claim the next item after this one in `then` for the
        same reviewer: one call per key press."""

    def decide_many(self, batch: BatchIn) -> BatchResult:
        """Approve, or reject with reasons, many items in one transaction (a bulk decision,
        named by `batch.decision.id`; idempotent). Items that cannot take it are skipped with
        why (claimed by someone else, settled, a critical action to approve); the rest are
        decided."""

    def undo_batch(self, batch: str, reviewer: str) -> BatchResult:
        """Revert every decision of bulk decision `batch` that still stands; returns the
        items back in the queue, and why others were left (decided again since)."""

    def suggest(self, suggestion: Suggestion, *, actor: str) -> Suggestion:
        """Store a judge's suggestion for `suggestion.item_id` (never a decision), replacing
        the one from the same model and prompt version; it comes back in the item's
        `suggestions`. Raises Invalid when it does not fit the item or the queue's reasons."""

    def decide_by_policy(self, item_id: str, verdict: str, rule: str) -> Decision:
        """Settle an action by policy rule `rule` (`approve` or `reject`), recorded as such."""

    def undo(self, item_id: str, reviewer: str) -> Decision:
        """Append a revert of the item's last decision and return the item to the queue."""

    def expire(self, item_id: str, comment: str = "deadline passed") -> QueueItem:
        """Expire one open action now (system reject, reason `timeout`); settled items are
        returned unchanged."""

    def take_decision(self, item_id: str, *, actor: str = "agent") -> QueueItem:
        """A gate took the item's standing decision and its agent acts on it: record that it is
        final (undo refuses from now on) and return the item. An item open again (undone
        before the gate read it) is expired first, so what the agent is told is a reject."""

    def expire_overdue(self, now: datetime | None = None) -> list[str]:
        """Expire actions past their deadline (a reject by `system`, reason `timeout`)."""

    def wait_for_decision(self, item_id: str, timeout_s: float) -> QueueItem:
        """Block until the item is decided or expired, or `timeout_s` passed; return it.
        Woken by the decision itself, not by polling the whole queue."""

    def decisions_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Decision]:
        """Decisions (and reverts) with `seq > cursor`, oldest first."""

    def audit(self, item_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        """The audit log, oldest first."""

    def queue_settings(self, queue: str) -> QueueSettings:
        """The rules of `queue` (the defaults when none were set)."""

    def all_queue_settings(self) -> dict[str, QueueSettings]:
        """Every queue that has settings of its own, by name."""

    def set_queue_settings(self, queue: str, settings: QueueSettings, *, actor: str) -> QueueSettings:
        """Replace the rules of `queue` (audited as `actor`)."""

    def get_cursor(self, name: str) -> int:
        """The stored position of export cursor `name` (0 when new)."""

    def set_cursor(self, name: str, position: int) -> None:
        """Store export cursor `name` at `position`."""

    def close(self) -> None:
        """Release connections."""
