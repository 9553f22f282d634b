"""SQL building blocks of `SqlQueue`: filters, sort orders, and positions in an order.

"triage" is the queue screen's order: open actions first by deadline (few, so sorting them is
cheap), then everything else by priority and age (walks `ix_items_priority`, so the first page
of 100k rows is instant). Keyset positions ("the items after this one") work in every order,
so the next item to review is found without counting or offsets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, text, tuple_

from reviewer.errors import Invalid
from reviewer.models import ItemFilter
from reviewer.vocab import OPEN

from . import convert as cv
from .schema import OPEN_ACTION_SQL
from .tables import items

c = items.c


def like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where(flt: ItemFilter | None) -> list[Any]:
    """SQL conditions for a filter (every field narrows)."""
    if flt is None:
        return []
    conds: list[Any] = []
    if flt.queue:
        conds.append(c.queue == flt.queue)
    if flt.queues is not None:
        conds.append(c.queue.in_(flt.queues))
    if flt.kind:
        conds.append(c.kind == flt.kind)
    if flt.status:
        conds.append(c.status.in_(flt.status))
    if flt.risk:
        conds.append(c.risk == flt.risk)
    if flt.tag:
        conds.append(c.tags.like(f"%\n{like_escape(flt.tag)}\n%", escape="\\"))
    if flt.flag:
        tail = "%" if flt.flag.endswith(".") else "\n%"
        conds.append(c.flag_reasons.like(f"%\n{like_escape(flt.flag)}{tail}", escape="\\"))
    if flt.since:
        conds.append(c.created_at >= cv.naive(flt.since))
    if flt.until:
        conds.append(c.created_at < cv.naive(flt.until))
    if flt.ids is not None:
        conds.append(c.id.in_(flt.ids))
    return conds


ORDERS: dict[str, tuple[Any, ...]] = {
    "priority": (c.priority, c.created_at, c.seq),
    "age": (c.created_at, c.seq),
    "recent": (c.updated_at.desc(), c.seq.desc()),
    "deadline": (c.expires_at.is_(None), c.expires_at, c.priority, c.created_at, c.seq),
}
KEYSET = ("triage", "priority", "age")  # orders that `after` (keyset positions) works in

# Open actions, written out literally: the partial index ix_items_due (migration 0006) is
# used only when a query states its condition in the same words.
OPEN_ACTION: Any = text(f"({OPEN_ACTION_SQL})")
NOT_OPEN_ACTION: Any = text(f"NOT ({OPEN_ACTION_SQL})")
DUE_KEY = (c.expires_at, c.priority, c.created_at, c.seq)
# (condition, sort key) of each triage segment, in order: open actions with a deadline,
# soonest first (walks ix_items_due, so the head of a million items is instant); open actions
# without one; then everything else by priority and age (walks ix_items_priority).
TRIAGE: tuple[tuple[ColumnElement[bool], tuple[Any, ...]], ...] = (
    (and_(OPEN_ACTION, c.expires_at.is_not(None)), DUE_KEY),
    (and_(OPEN_ACTION, c.expires_at.is_(None)), ORDERS["priority"]),
    (NOT_OPEN_ACTION, ORDERS["priority"]),
)


def segments(order: str) -> tuple[tuple[ColumnElement[bool] | None, tuple[Any, ...]], ...]:
    """The (condition, sort key) segments an order walks, in turn."""
    if order == "triage":
        return TRIAGE
    if order not in ORDERS:
        raise Invalid(f"unknown order {order!r}; use one of triage, {', '.join(ORDERS)}")
    return ((None, ORDERS[order]),)


def _values(row: Any, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values of a keyset `key` for an items `row` (as read before any change)."""
    return tuple(getattr(row, col.name) for col in key)


def triage_segment(row: Any) -> int:
    """Which TRIAGE segment an items `row` (as listed) is in."""
    if row.kind == "action" and row.status in OPEN:
        return 0 if row.expires_at is not None else 1
    return 2


def after(order: str, row: Any, *, backwards: bool = False) -> list[tuple[list[Any], tuple[Any, ...]]]:
    """The places to look, in turn, for the items after (or before) `row` in `order`: a list
    of (conditions, sort key). `row` is the item as it was listed, before any change."""
    segs = segments(order)
    here = triage_segment(row) if order == "triage" else 0
    out: list[tuple[list[Any], tuple[Any, ...]]] = []
    key = segs[here][1]
    mark = tuple_(*key) < tuple_(*_values(row, key)) if backwards else tuple_(*key) > tuple_(*_values(row, key))
    cond = segs[here][0]
    out.append(([x for x in (cond, mark) if x is not None], key))
    rest = range(here - 1, -1, -1) if backwards else range(here + 1, len(segs))
    for i in rest:
        cond = segs[i][0]
        out.append(([cond] if cond is not None else [], segs[i][1]))
    return out


def sort(key: tuple[Any, ...], backwards: bool) -> list[Any]:
    return [k.desc() for k in key] if backwards else list(key)
