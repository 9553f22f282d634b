"""Where the queue list's rows come from: a filtered query, or the ids a search found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from reviewer.models import ItemFilter, ItemSummary
    from reviewer.queue import ReviewQueue


class Source(Protocol):
    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]: ...


def fetch_ids(queue: ReviewQueue, ids: list[str]) -> list[ItemSummary]:
    """Current rows for `ids`, in that order (ids that vanished are left out)."""
    from reviewer.models import ItemFilter

    rows = {r.id: r for r in queue.list(ItemFilter(ids=ids), limit=len(ids) or 1)}
    return [rows[i] for i in ids if i in rows]


@dataclass
class FilterSource:
    """Rows of the queue matching a filter, in `order`.

    Until `load_ids()` has run, pages come from OFFSET queries (fast near the top). After it,
    the row order is a snapshot of ids, and any page is one `id IN (...)` lookup, so deep
    scrolling stays instant at 100k rows. Rows show their current state; the snapshot is
    refreshed when the queue changes.
    """

    queue: ReviewQueue
    flt: ItemFilter
    order: str = "triage"
    ids: list[str] | None = None

    def count(self) -> int:
        return len(self.ids) if self.ids is not None else self.queue.count(self.flt)

    def load_ids(self) -> None:
        self.ids = self.queue.list_ids(self.flt, order=self.order)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        if self.ids is not None:
            return fetch_ids(self.queue, self.ids[offset : offset + limit])
        return self.queue.list(self.flt, offset=offset, limit=limit, order=self.order)


@dataclass
class IdsSource:
    """Rows for a ranked list of ids (search results), in that order."""

    queue: ReviewQueue
    ids: list[str]

    def count(self) -> int:
        return len(self.ids)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        return fetch_ids(self.queue, self.ids[offset : offset + limit])


@dataclass
class WaitingSource:
    """The default view while the queue is still opening: waits for it, then reads it."""

    app: Any  # ReviewerApp
    values: dict[str, Any]  # ItemFilter fields, built into one in the worker thread

    def _source(self) -> FilterSource:
        from reviewer.models import ItemFilter

        return FilterSource(self.app.wait_queue(), ItemFilter(**self.values))

    def count(self) -> int:
        return self._source().count()

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        return self._source().fetch(offset, limit)
