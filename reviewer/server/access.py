"""Who may do what: the roles of `reviewer.principal`, checked on the server for every request.

Identity comes from the token: a name a client sends (a reviewer, an actor) must be the
token's own name, or the request is refused. In dev mode (loopback only, no tokens) the
caller is an admin whose name is whatever the client says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reviewer.errors import Forbidden, no_item
from reviewer.models import MAX_IDS, ItemFilter, NextItem
from reviewer.principal import Principal
from reviewer.queue import ReviewQueue


def require(p: Principal, *roles: str) -> None:
    if p.role not in roles:
        raise Forbidden(f"a {p.role} token may not do this (needs {' or '.join(roles)})",
                        hint="ask an admin for a token with that role")


def same_name(p: Principal, name: str, dev: bool) -> None:
    if not dev and name != p.name:
        raise Forbidden(f"this token acts as {p.name!r}, not {name!r}",
                        hint="the gateway takes your identity from your token; use your own name")


def queue_allowed(p: Principal, queues: Iterable[str]) -> None:
    for q in queues:
        if not p.may_use(q):
            raise Forbidden(f"this token may not use queue {q!r}", hint=f"its queues: {', '.join(p.queues or [])}")


def scoped(p: Principal, flt: ItemFilter | None) -> ItemFilter | None:
    """A filter limited to the caller's queues: refused when it names another queue, narrowed
    to the caller's queues otherwise."""
    if p.queues is None:
        return flt
    flt = flt or ItemFilter()
    queue_allowed(p, [*([flt.queue] if flt.queue is not None else []), *(flt.queues or [])])
    if flt.queue is None and flt.queues is None:
        return flt.model_copy(update={"queues": list(p.queues)})
    return flt


def scoped_next(p: Principal, queue: ReviewQueue,
                where: ItemFilter | NextItem | None) -> ItemFilter | NextItem | None:
    """Where a claim may look: its filter scoped, and every id of a walk in the caller's queues."""
    if isinstance(where, NextItem):
        if where.ids is not None:
            ids_allowed(p, queue, where.ids)
        return where.model_copy(update={"filter": scoped(p, where.filter)})
    return scoped(p, where)


def queues_of(queue: ReviewQueue, ids: Sequence[str]) -> dict[str, str]:
    """The queue of each of `ids` that exists (a summary read, not the items)."""
    out: dict[str, str] = {}
    for i in range(0, len(ids), MAX_IDS):
        chunk = list(dict.fromkeys(ids[i : i + MAX_IDS]))
        out.update({s.id: s.queue for s in queue.list_items(ItemFilter(ids=chunk), limit=len(chunk))})
    return out


def unscoped(p: Principal) -> bool:
    return p.role == "admin" or p.queues is None


def ids_allowed(p: Principal, queue: ReviewQueue, ids: Sequence[str]) -> None:
    """Every one of `ids` that exists is in the caller's queues (a reviewer's; an admin's are all)."""
    if not unscoped(p):
        queue_allowed(p, set(queues_of(queue, ids).values()))


def item_allowed(p: Principal, queue: ReviewQueue, item_id: str) -> None:
    """May the caller see (and act on) this item: its queue for reviewers; for an agent, only
    the items it enqueued itself."""
    if p.role == "agent":
        first = queue.audit(item_id, limit=1)
        if not first or first[0].actor != p.name:
            raise Forbidden(f"item {item_id!r} was not enqueued by {p.name!r}",
                            hint="an agent token reads only its own items")
        return
    if unscoped(p):
        return
    found = queues_of(queue, [item_id])
    if item_id not in found:
        raise no_item(item_id)
    queue_allowed(p, found.values())
