"""The audit chain: every `decisions` and `audit` row carries the hash of the row before it.

One chain runs through both tables, in the order the rows were committed (`chain_pos`,
1, 2, 3...). A row's link is `SHA-256(prev + "\\n" + canonical(row))`, where `canonical` is
the JSON of its table name, its chain position and its stored columns (`FIELDS`), keys
sorted, times as `YYYY-MM-DD HH:MM:SS.ffffff` (naive UTC). `chain_head` holds the last
position and hash.

Writers insert their rows unlinked (keeping the values they wrote, which are what the row
reads back as) and `seal` links them just before the commit, holding
the head (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's write transaction is already
exclusive). It is the last lock a write transaction takes, so it adds no deadlock, and it is
held only while the transaction's own rows are linked.

`verify` walks the chain and names the first broken link. It proves the rows were not
edited, deleted or inserted by anyone who did not also rewrite every link after them and the
head; an anchor (a head hash kept elsewhere) proves the chain up to it was not rewritten.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, bindparam, select, update

from . import convert as cv
from .tables import audit, chain_head, decisions

GENESIS = "0" * 64  # the link before the first row
HEAD_ID = 1  # chain_head's one row
# The columns each table's link covers (chain_pos is added; chain_prev is hashed as `prev`).
FIELDS: dict[str, tuple[str, ...]] = {
    "decisions": ("seq", "id", "item_id", "verdict", "reviewer", "reasons", "comment", "correction",
                  "arguments", "scores", "duration_ms", "decided_at", "reverts", "origin",
                  "content_hash", "by_kind", "batch"),
    "audit": ("seq", "at", "actor", "action", "item_id", "detail", "origin"),
}
TABLES: dict[str, Table] = {"decisions": decisions, "audit": audit}
PAGE = 5000  # rows linked at a time when linking a whole table
STREAM = 2000  # rows per fetch while verifying
UNSEALED = "chain"  # conn.info key: [(table, seq)] written in this transaction, in order

Problem = Literal["edited", "deleted", "inserted", "rewritten"]


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return cv.naive(v).isoformat(" ", "microseconds")  # type: ignore[union-attr]
    return v


def canonical(table: str, pos: int, row: Mapping[str, Any]) -> str:
    """The one serialisation of a row that its link hashes."""
    return cv.dumps({"table": table, "pos": pos, **{f: _plain(row[f]) for f in FIELDS[table]}})


def link(prev: str, table: str, pos: int, row: Mapping[str, Any]) -> str:
    return cv.sha256(f"{prev}\n{canonical(table, pos, row)}")


def _columns(name: str) -> list[Any]:
    return [TABLES[name].c[f] for f in FIELDS[name]]


# Built once: sealing runs in every write transaction.
_HEAD = select(chain_head.c.pos, chain_head.c.hash).where(chain_head.c.id == HEAD_ID)
_MOVE = update(chain_head).where(chain_head.c.id == HEAD_ID).values(pos=bindparam("p"), hash=bindparam("h"))
_LINK = {name: update(t).where(t.c.seq == bindparam("s")).values(
    chain_pos=bindparam("p"), chain_prev=bindparam("v"), chain_hash=bindparam("h")) for name, t in TABLES.items()}


# -- writing ------------------------------------------------------------------------------


def written(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Note rows inserted in this transaction (each with its `seq`, as written), to be linked
    by `seal` before the commit."""
    conn.info.setdefault(UNSEALED, []).extend((table.name, r) for r in rows)


def seal(conn: Connection, *, lock: bool) -> None:
    """Link the rows this transaction wrote onto the chain's head, and move the head.
    `lock`: take the head's row lock (PostgreSQL)."""
    todo: list[tuple[str, Mapping[str, Any]]] = conn.info.pop(UNSEALED, [])
    if not todo:
        return
    pos, prev = conn.execute(_HEAD.with_for_update() if lock else _HEAD).one()
    links: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for name, row in todo:
        pos += 1
        h = link(prev, name, pos, row)
        links[name].append({"s": row["seq"], "p": pos, "v": prev, "h": h})
        prev = h
    for name, values in links.items():
        if values:
            conn.execute(_LINK[name], values)
    conn.execute(_MOVE, {"p": pos, "h": prev})


def chain_all(conn: Connection) -> None:
    """Link every row not linked yet, decisions first, then audit, each by seq (for a database
    written before the chain existed)."""
    for name, t in TABLES.items():
        last = -1
        q = select(*_columns(name)).where(t.c.chain_hash.is_(None)).order_by(t.c.seq).limit(PAGE)
        while page := conn.execute(q.where(t.c.seq > last)).all():
            written(conn, t, [r._asdict() for r in page])
            seal(conn, lock=False)
            last = page[-1].seq


# -- verifying ----------------------------------------------------------------------------


@dataclass
class Break:
    """The first broken link: which row, and what happened to it."""

    table: str
    seq: int | None
    problem: Problem
    detail: str

    def __str__(self) -> str:
        where = f"{self.table} row {self.seq}" if self.seq is not None else self.table
        return f"{where}: {self.problem} ({self.detail})"


@dataclass
class Report:
    """What `verify` found: the rows walked, the last position and hash (the anchor to keep)."""

    ok: bool
    rows: int
    pos: int
    head: str
    anchor: str | None = None
    broken: Break | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stream(conn: Connection, name: str, start: int) -> Iterator[tuple[int, str, Any]]:
    t = TABLES[name]
    q = select(*_columns(name), t.c.chain_pos, t.c.chain_prev, t.c.chain_hash).where(
        t.c.chain_pos >= start).order_by(t.c.chain_pos)
    for r in conn.execution_options(yield_per=STREAM).execute(q):
        yield r.chain_pos, name, r._mapping


def verify(conn: Connection, *, anchor: str | None = None, start: tuple[int, str] | None = None) -> Report:
    """Walk the chain (from `start`, a position and the hash it had, when given) and report
    the first broken link. With `anchor`, a hash the chain must still contain."""
    head_pos, head_hash = conn.execute(select(chain_head.c.pos, chain_head.c.hash)
                                       .where(chain_head.c.id == HEAD_ID)).one()
    counts = dict.fromkeys(TABLES, 0)

    def report(broken: Break | None, pos: int, last: str) -> Report:
        return Report(ok=broken is None, rows=sum(counts.values()), pos=pos, head=last, anchor=anchor,
                      broken=broken, counts=counts)

    if start is None:
        for name, t in TABLES.items():  # a row with no link was written outside reviewer
            loose = conn.execute(select(t.c.seq).where(t.c.chain_hash.is_(None) | t.c.chain_pos.is_(None))
                                 .order_by(t.c.seq).limit(1)).scalar()
            if loose is not None:
                return report(Break(name, loose, "inserted", "it has no link: it was written outside reviewer"),
                              0, GENESIS)
    expected, prev = (start[0], None) if start and start[0] > 0 else (1, GENESIS)
    before: tuple[str, int] | None = None
    found = anchor is None
    merged = heapq.merge(*(_stream(conn, name, expected) for name in TABLES), key=lambda x: x[0])
    for pos, name, row in merged:
        seq = row["seq"]
        if pos > head_pos:
            return report(Break(name, seq, "inserted", f"its position {pos} is past the chain's head "
                                f"({head_pos})"), expected - 1, prev or "")
        if pos < expected:
            return report(Break(name, seq, "inserted", f"position {pos} is already taken by "
                                f"{_ref(before)}"), expected - 1, prev or "")
        if pos > expected:
            gone = pos - expected
            return report(Break(name, seq, "deleted", f"{gone} row{'s' if gone != 1 else ''} before it "
                                f"{'are' if gone != 1 else 'is'} missing ({_span(expected, pos - 1)}, "
                                f"after {_ref(before)})"), expected - 1, prev or "")
        if link(row["chain_prev"], name, pos, row) != row["chain_hash"]:
            return report(Break(name, seq, "edited", "its content no longer matches its link"),
                          expected - 1, prev or "")
        if prev is None:  # resuming: the row walked last time must be as it was
            if row["chain_hash"] != start[1]:  # type: ignore[index]
                return report(Break(name, seq, "edited", "its link changed since it was last checked"),
                              expected - 1, "")
        elif row["chain_prev"] != prev:
            assert before is not None
            return report(Break(before[0], before[1], "edited",
                                f"it was rewritten: {name} row {seq} after it still holds its old link"),
                          expected - 1, prev)
        prev, before = row["chain_hash"], (name, seq)
        counts[name] += 1
        found = found or prev == anchor
        expected += 1
    last = prev or GENESIS
    if expected - 1 < head_pos:
        gone = head_pos - expected + 1
        return report(Break(before[0] if before else "chain", before[1] if before else None, "deleted",
                            f"{gone} row{'s' if gone != 1 else ''} after it {'are' if gone != 1 else 'is'} "
                            f"missing (the chain's head is at position {head_pos})"), expected - 1, last)
    if last != head_hash:
        return report(Break("chain_head", None, "edited", "the head does not hold the last row's link"),
                      expected - 1, last)
    if not found:
        return report(Break("chain", None, "rewritten", f"the anchor {anchor} is not in the chain: rows up "
                            "to it were rewritten or deleted"), expected - 1, last)
    return report(None, expected - 1, last)


def _span(first: int, last: int) -> str:
    return f"position {first}" if first == last else f"positions {first}-{last}"


def _ref(row: tuple[str, int] | None) -> str:
    return f"{row[0]} row {row[1]}" if row else "the start"
