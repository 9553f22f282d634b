"""Where the queue list's rows come from: a filtered query, or the ids a search found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reviewer.models import ItemFilter, ItemSummary
from reviewer.queue import ReviewQueue


class Source(Protocol):
    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]: ...


@dataclass
class FilterSource:
    """Rows of the queue matching a filter, in `order`, paged with OFFSET."""

    queue: ReviewQueue
    flt: ItemFilter
    order: str = "triage"

    def count(self) -> int:
        return self.queue.count(self.flt)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        return self.queue.list(self.flt, offset=offset, limit=limit, order=self.order)


@dataclass
class IdsSource:
    """Rows for a ranked list of ids (search results), in that order."""

    queue: ReviewQueue
    ids: list[str]

    def count(self) -> int:
        return len(self.ids)

    def fetch(self, offset: int, limit: int) -> list[ItemSummary]:
        want = self.ids[offset : offset + limit]
        rows = {r.id: r for r in self.queue.list(ItemFilter(ids=want), limit=len(want) or 1)}
        return [rows[i] for i in want if i in rows]
