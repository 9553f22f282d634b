"""Where the queue list's rows come from, and how the review screen walks them: a filtered
view of the queue, or the rows a search found. Both page from the queue; neither holds the
whole queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from reviewer.models import ItemFilter, ItemSummary, NextItem
    from reviewer.queue import ReviewQueue


class Source(Protocol):
    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]: ...

    def walk(self) -> NextItem:
        """How the review screen finds the next item of this source."""
        ...


@dataclass
class FilterSource:
    """Rows of the queue matching a filter, in `order`, one page per query."""

    queue: ReviewQueue
    flt: ItemFilter
    order: str = "triage"

    def count(self) -> int:
        return self.queue.count(self.flt)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        return self.queue.list_items(self.flt, offset=offset, limit=limit, order=self.order)

    def walk(self) -> NextItem:
        from reviewer.models import NextItem

        return NextItem(filter=self.flt, order="triage" if self.order == "triage" else "priority")


@dataclass
class SearchSource:
    """The rows a search found, best first; pages show their current state."""

    queue: ReviewQueue
    ids: list[str]

    def count(self) -> int:
        return len(self.ids)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        from reviewer.models import ItemFilter

        ids = self.ids[offset : offset + limit]
        rows = {r.id: r for r in self.queue.list_items(ItemFilter(ids=ids), limit=len(ids) or 1)}
        return [rows[i] for i in ids if i in rows]

    def walk(self) -> NextItem:
        from reviewer.models import NextItem

        return NextItem(ids=self.ids)


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

    def walk(self) -> NextItem:
        return self._source().walk()
