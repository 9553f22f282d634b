"""`SqlQueue`: the ReviewQueue over SQLite or PostgreSQL (SQLAlchemy Core on the hot paths)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from reviewer import rules
from reviewer.errors import (
    AlreadyDecided,
    Conflict,
    Expired,
    LeaseError,
    NotFound,
    ReviewerError,
    StorageError,
)
from reviewer.models import (
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
    new_id,
    parse_item,
    utcnow,
)
from reviewer.rules import POLICY_PREFIX, DecidedBy, check_human
from reviewer.vocab import DEFAULT_LEASE_S, OPEN, SETTLED, STATUSES

from . import convert as cv
from . import migrate
from .engine import is_sqlite, make_engine, sqlite_file
from .tables import audit, cursors, decisions, items

BATCH = 500  # ids per IN (...) lookup
ACTIVE = OPEN


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(flt: ItemFilter | None) -> list[Any]:
    if flt is None:
        return []
    c = items.c
    conds: list[Any] = []
    if flt.queue:
        conds.append(c.queue == flt.queue)
    if flt.kind:
        conds.append(c.kind == flt.kind)
    if flt.status:
        conds.append(c.status.in_(flt.status))
    if flt.risk:
        conds.append(c.risk == flt.risk)
    if flt.tag:
        conds.append(c.tags.like(f"%\n{_like_escape(flt.tag)}\n%", escape="\\"))
    if flt.flag:
        tail = "%" if flt.flag.endswith(".") else "\n%"
        conds.append(c.flag_reasons.like(f"%\n{_like_escape(flt.flag)}{tail}", escape="\\"))
    if flt.since:
        conds.append(c.created_at >= cv.naive(flt.since))
    if flt.until:
        conds.append(c.created_at < cv.naive(flt.until))
    if flt.ids is not None:
        conds.append(c.id.in_(flt.ids))
    return conds


ORDERS = {
    "priority": (items.c.priority, items.c.created_at, items.c.seq),
    "age": (items.c.created_at, items.c.seq),
    "recent": (items.c.updated_at.desc(), items.c.seq.desc()),
    "deadline": (items.c.expires_at.is_(None), items.c.expires_at, items.c.priority,
                 items.c.created_at, items.c.seq),
}
KEYSET = {"priority", "age"}
# "triage": open actions first by deadline (few, so sorting them is cheap), then the rest
# by priority and age (walks ix_items_priority, so the first page of 100k rows is instant).
_OPEN_ACTION = (items.c.kind == "action") & items.c.status.in_(ACTIVE)
TRIAGE = ((_OPEN_ACTION, "deadline"), (~_OPEN_ACTION, "priority"))


class SqlQueue:
    """A review queue in a SQL database. Thread-safe; one instance per process is enough."""

    def __init__(self, engine: Engine, *, origin: str | None = None, migrate_schema: bool = True,
                 two_approvers: Iterable[str] = (), clock: Callable[[], datetime] = utcnow):
        """`two_approvers`: queues whose critical actions need two distinct approvers.
        `clock`: the current UTC time, for leases, deadlines and decisions (tests pass a fake)."""
        self.engine = engine
        self.clock = clock
        self.two_approvers = frozenset(two_approvers)
        self.sqlite = is_sqlite(engine)
        self.origin = origin or f"{socket.gethostname()}:{os.getpid()}"
        self._file = sqlite_file(engine)
        self._file_id = _file_id(self._file)
        if migrate_schema:
            with self._errors():
                migrate.upgrade(engine)
            self._file_id = _file_id(self._file)

    @classmethod
    def open(cls, url: str, **kw: Any) -> SqlQueue:
        return cls(make_engine(url), **kw)

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ReviewerError:
            raise
        except (OperationalError, DBAPIError) as e:
            self._check_file()
            raise _storage_error(e) from e

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def _audit(self, conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
        if rows:
            for r in rows:
                r.setdefault("origin", self.origin)
                r["at"] = cv.naive(now)
                r["detail"] = cv.dumps(r.get("detail") or {})
            self._bulk_insert(conn, audit, rows)

    def _bulk_insert(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """Insert many rows. On SQLite, straight to the driver's executemany: SQLAlchemy's
        per-value type processing costs more than the insert itself on this path."""
        if not self.sqlite:
            conn.execute(insert(table), rows)
            return
        cols = list(rows[0])
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, [tuple(cv.sqlite_value(r[c]) for c in cols) for r in rows])

    # -- enqueue ------------------------------------------------------------------------

    def enqueue(self, item: OutputItem | ActionItem, *, actor: str = "ingest") -> EnqueueResult:
        return self.enqueue_many([item], actor=actor)[0]

    def enqueue_many(
        self, batch: Sequence[OutputItem | ActionItem], *, actor: str = "ingest"
    ) -> list[EnqueueResult]:
        now = self.clock()
        prepared: list[tuple[str, str, OutputItem | ActionItem]] = []
        for it in batch:
            payload = cv.item_payload(it)
            prepared.append((it.id or new_id(), payload, it))
        for attempt in range(3):
            try:
                return self._enqueue_prepared(prepared, now, actor)
            except IntegrityError:  # a concurrent writer inserted one of our ids: look again
                if attempt == 2:
                    raise StorageError("could not enqueue: ids kept colliding") from None
        raise AssertionError("unreachable")

    def _enqueue_prepared(
        self, prepared: list[tuple[str, str, OutputItem | ActionItem]], now: datetime, actor: str
    ) -> list[EnqueueResult]:
        results: list[EnqueueResult] = []
        with self._write() as conn:
            ids = [p[0] for p in prepared]
            existing: dict[str, str] = {}
            for i in range(0, len(ids), BATCH):
                chunk = ids[i : i + BATCH]
                q = select(items.c.id, items.c.content_hash).where(items.c.id.in_(chunk))
                existing.update(conn.execute(q).all())
            rows: list[dict[str, Any]] = []
            seen: dict[str, str] = {}
            for item_id, payload, it in prepared:
                digest = cv.sha256(payload)
                prior = existing.get(item_id) or seen.get(item_id)
                if prior is None:
                    seen[item_id] = digest
                    rows.append(cv.item_row(it, item_id, now, payload, digest))
                    results.append(EnqueueResult(id=item_id, outcome="inserted"))
                elif prior == digest:
                    results.append(EnqueueResult(id=item_id, outcome="unchanged"))
                else:
                    results.append(
                        EnqueueResult(
                            id=item_id,
                            outcome="conflict",
                            detail="an item with this id and different content is already queued",
                        )
                    )
            if rows:
                self._bulk_insert(conn, items, rows)
                self._audit(
                    conn,
                    [{"actor": actor, "action": "enqueue", "item_id": r["id"]} for r in rows],
                    now,
                )
        return results

    # -- reads --------------------------------------------------------------------------

    def get(self, item_id: str) -> QueueItem:
        with self._read() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).first()
            if row is None:
                raise NotFound(f"no item with id {item_id!r}", hint="reviewer list shows the ids")
            ds = conn.execute(
                select(decisions).where(decisions.c.item_id == item_id).order_by(decisions.c.seq)
            ).all()
        return QueueItem(
            **cv.summary_kwargs(row),
            item=parse_item(row.payload),
            decisions=[cv.decision(d) for d in ds],
        )

    def list(
        self,
        flt: ItemFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
        order: str = "priority",
    ) -> list[ItemSummary]:
        cols = [items.c[f] for f in cv.SUMMARY_FIELDS]
        with self._read() as conn:
            if order == "triage":
                if after is not None:
                    raise ValueError("keyset paging works with order priority or age")
                return [cv.summary(r) for r in self._triage(conn, cols, flt, offset, limit)]
            if order not in ORDERS:
                raise ValueError(f"unknown order {order!r}; use one of triage, {', '.join(ORDERS)}")
            q = select(*cols).where(*_where(flt)).order_by(*ORDERS[order]).limit(limit)
            if after is not None:
                if order not in KEYSET:
                    raise ValueError(f"keyset paging works with order {sorted(KEYSET)}")
                key = ORDERS[order]
                mark = conn.execute(select(*key).where(items.c.id == after)).first()
                if mark is None:
                    raise NotFound(f"cursor item {after!r} does not exist")
                q = q.where(tuple_(*key) > tuple_(*mark))
            elif offset:
                q = q.offset(offset)
            return [cv.summary(r) for r in conn.execute(q)]

    def _triage(self, conn: Connection, cols: list[Any], flt: ItemFilter | None, offset: int,
                limit: int) -> list[Any]:
        rows: list[Any] = []
        for cond, order in TRIAGE:
            if len(rows) >= limit:
                break
            base = select(*cols).where(*_where(flt), cond)
            if offset:
                n = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
                if offset >= n:
                    offset -= n
                    continue
            q = base.order_by(*ORDERS[order]).offset(offset).limit(limit - len(rows))
            rows.extend(conn.execute(q))
            offset = 0
        return rows

    def list_ids(self, flt: ItemFilter | None = None, *, order: str = "priority") -> list[str]:
        with self._read() as conn:
            if order == "triage":
                out: list[str] = []
                for cond, o in TRIAGE:
                    q = select(items.c.id).where(*_where(flt), cond).order_by(*ORDERS[o])
                    out.extend(conn.execute(q).scalars())
                return out
            q = select(items.c.id).where(*_where(flt)).order_by(*ORDERS[order])
            return list(conn.execute(q).scalars())

    def count(self, flt: ItemFilter | None = None) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(items).where(*_where(flt))).scalar_one()

    def stats(self) -> dict[str, int]:
        midnight = self.clock().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        with self._read() as conn:
            out = dict.fromkeys(STATUSES, 0)
            q = select(items.c.status, func.count()).group_by(items.c.status)
            out.update(dict(conn.execute(q).all()))
            out["decided_today"] = conn.execute(
                select(func.count())
                .select_from(items)
                .where(items.c.status == "decided", items.c.decided_at >= cv.naive(midnight))
            ).scalar_one()
        out["total"] = sum(out[s] for s in STATUSES)
        return out

    def facets(self) -> dict[str, list[str]]:
        with self._read() as conn:
            queues = conn.execute(select(items.c.queue).distinct().order_by(items.c.queue)).scalars().all()
            tags = conn.execute(select(items.c.tags).distinct()).scalars().all()
            flags = conn.execute(select(items.c.flag_reasons).distinct()).scalars().all()
        return {
            "queues": list(queues),
            "tags": sorted({t for x in tags for t in cv.undelimited(x)}),
            "flags": sorted({f for x in flags for f in cv.undelimited(x)}),
        }

    def search_texts(self, flt: ItemFilter | None = None) -> list[tuple[str, str]]:
        with self._read() as conn:
            q = select(items.c.id, items.c.search_text).where(*_where(flt)).order_by(*ORDERS["priority"])
            return list(conn.execute(q).all())

    def decisions_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Decision]:
        with self._read() as conn:
            q = select(decisions).where(decisions.c.seq > cursor).order_by(decisions.c.seq).limit(limit)
            return [cv.decision(r) for r in conn.execute(q)]

    def audit(self, item_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        q = select(audit).order_by(audit.c.seq).limit(limit)
        if item_id is not None:
            q = q.where(audit.c.item_id == item_id)
        with self._read() as conn:
            return [
                AuditEntry(**{**r._mapping, "at": cv.aware(r.at), "detail": json.loads(r.detail)})
                for r in conn.execute(q)
            ]

    def change_token(self) -> int:
        """A number that grows with every state change (the last audit seq)."""
        with self._read() as conn:
            return conn.execute(select(func.max(audit.c.seq))).scalar() or 0

    def wait_for_change(self, last: int | None, timeout_s: float, *, poll_s: float = 0.01) -> int:
        """Poll cheaply until the change token moves. On SQLite the poll is `PRAGMA
        data_version` on one held connection (microseconds; it moves when another connection
        commits), and the token is read only then."""
        deadline = time.monotonic() + timeout_s
        self._check_file()
        token = self.change_token()
        if last is None or token != last:
            return token
        with self._errors():
            raw = self.engine.raw_connection() if self.sqlite else None
            try:
                version = _data_version(raw)
                while time.monotonic() < deadline:
                    time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
                    now_version = _data_version(raw)
                    if raw is not None and now_version == version:
                        continue
                    version = now_version
                    token = self.change_token()
                    if token != last:
                        return token
                return self.change_token()
            finally:
                if raw is not None:
                    raw.close()

    def _check_file(self) -> None:
        """A SQLite file deleted or replaced under a waiting process keeps working through
        the open descriptors, but nobody else sees it any more: say so instead of waiting."""
        if self._file is not None and _file_id(self._file) != self._file_id:
            raise StorageError(f"the queue database {self._file} was deleted or replaced",
                               hint="restore the file or point REVIEWER_DB at the new queue")

    # -- leases -------------------------------------------------------------------------

    def _sweep(self, conn: Connection, now: datetime) -> list[str]:
        """Return lapsed leases to `pending` and expire overdue actions. Returns expired ids."""
        n = cv.naive(now)
        lapsed = conn.execute(
            update(items)
            .where(items.c.status == "claimed", items.c.lease_expires_at <= n)
            .values(status="pending", claimed_by=None, lease_token=None, lease_expires_at=None, updated_at=n)
            .returning(items.c.id)
        ).scalars().all()
        self._audit(
            conn, [{"actor": "system", "action": "lease_expired", "item_id": i} for i in lapsed], now
        )
        overdue = conn.execute(
            select(items.c.id, items.c.on_timeout).where(
                items.c.status.in_(ACTIVE), items.c.kind == "action", items.c.expires_at <= n
            )
        ).all()
        for item_id, on_timeout in overdue:
            self._expire(conn, item_id, on_timeout, "deadline passed before a reviewer decided", now)
        return [i for i, _ in overdue]

    def _expire(self, conn: Connection, item_id: str, on_timeout: str | None, comment: str,
                now: datetime) -> None:
        """Settle an open action as `system`, reason `timeout`: a reject unless it may approve."""
        self._record(conn, item_id, rules.timeout_decision(on_timeout, comment), now, status="expired",
                     by="system")

    def expire(self, item_id: str, comment: str = "deadline passed") -> QueueItem:
        """Expire one open action now (reject by `system`, reason `timeout`), lease or not.

        Used by the gate when its agent stops waiting. An item already settled is returned
        as it is, so a decision that won the race is honoured.
        """
        now = self.clock()
        with self._write() as conn:
            row = self._locked_item(conn, item_id)
            if row.status in ACTIVE:
                self._expire(conn, item_id, row.on_timeout, comment, now)
        return self.get(item_id)

    def expire_overdue(self, now: datetime | None = None) -> list[str]:
        with self._write() as conn:
            return self._sweep(conn, now or self.clock())

    def claim_next(
        self, reviewer: str, flt: ItemFilter | None = None, *, lease_s: float = DEFAULT_LEASE_S
    ) -> Lease | None:
        check_human(reviewer)
        now = self.clock()
        n = cv.naive(now)
        token = new_id()
        expires = now + timedelta(seconds=lease_s)
        with self._write() as conn:
            self._sweep(conn, now)
            pick = (
                select(items.c.seq)
                .where(items.c.status == "pending", *_where(flt))
                .order_by(*ORDERS["priority"])
                .limit(1)
            )
            if not self.sqlite:
                pick = pick.with_for_update(skip_locked=True)
            item_id = conn.execute(
                update(items)
                .where(items.c.seq == pick.scalar_subquery(), items.c.status == "pending")
                .values(status="claimed", claimed_by=reviewer, lease_token=token,
                        lease_expires_at=cv.naive(expires), updated_at=n)
                .returning(items.c.id)
            ).scalar()
            if item_id is None:
                return None
            self._audit(conn, [{"actor": reviewer, "action": "claim", "item_id": item_id,
                                "detail": {"lease_s": lease_s}}], now)
        return Lease(item_id=item_id, token=token, reviewer=reviewer, expires_at=expires)

    def _locked_item(self, conn: Connection, item_id: str) -> Any:
        q = select(items).where(items.c.id == item_id)
        if not self.sqlite:
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise NotFound(f"no item with id {item_id!r}", hint="reviewer list shows the ids")
        return row

    def claim(self, item_id: str, reviewer: str, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        check_human(reviewer)
        now = self.clock()
        expires = now + timedelta(seconds=lease_s)
        with self._write() as conn:
            self._sweep(conn, now)
            row = self._locked_item(conn, item_id)
            if row.status in SETTLED:
                raise AlreadyDecided(f"item {item_id} is already {row.status}",
                                     hint="reviewer undo ID puts it back in the queue")
            if row.status == "claimed" and row.claimed_by != reviewer:
                raise LeaseError(
                    f"item {item_id} is being reviewed by {row.claimed_by} "
                    f"until {cv.aware(row.lease_expires_at):%H:%M:%S} UTC",
                    hint="pick another item, or wait for the lease to run out",
                )
            token = row.lease_token if row.status == "claimed" else new_id()
            conn.execute(
                update(items).where(items.c.id == item_id)
                .values(status="claimed", claimed_by=reviewer, lease_token=token,
                        lease_expires_at=cv.naive(expires), updated_at=cv.naive(now))
            )
            self._audit(conn, [{"actor": reviewer, "action": "claim", "item_id": item_id,
                                "detail": {"lease_s": lease_s}}], now)
        return Lease(item_id=item_id, token=token, reviewer=reviewer, expires_at=expires)

    def renew(self, lease: Lease, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        now = self.clock()
        expires = now + timedelta(seconds=lease_s)
        with self._write() as conn:
            done = conn.execute(
                update(items)
                .where(items.c.id == lease.item_id, items.c.lease_token == lease.token,
                       items.c.status == "claimed", items.c.lease_expires_at > cv.naive(now))
                .values(lease_expires_at=cv.naive(expires), updated_at=cv.naive(now))
            ).rowcount
            if not done:
                raise LeaseError(f"the lease on {lease.item_id} was lost",
                                 hint="it ran out or the item was decided elsewhere; open it again")
            self._audit(conn, [{"actor": lease.reviewer, "action": "renew", "item_id": lease.item_id}], now)
        return lease.model_copy(update={"expires_at": expires})

    def release(self, lease: Lease) -> None:
        now = self.clock()
        with self._write() as conn:
            done = conn.execute(
                update(items)
                .where(items.c.id == lease.item_id, items.c.lease_token == lease.token,
                       items.c.status == "claimed")
                .values(status="pending", claimed_by=None, lease_token=None,
                        lease_expires_at=None, updated_at=cv.naive(now))
            ).rowcount
            if done:
                self._audit(conn, [{"actor": lease.reviewer, "action": "release",
                                    "item_id": lease.item_id}], now)

    # -- decisions ----------------------------------------------------------------------

    def _record(
        self, conn: Connection, item_id: str, d: DecisionIn, now: datetime, *,
        status: str = "decided", reverts: str | None = None, by: DecidedBy = "human",
    ) -> Decision:
        """Append a decision row, update the item, audit it: all in the caller's transaction.

        `status` is `decided`, `expired` (a system timeout) or `pending` (the first of two
        approvals); with `reverts`, the row is an undo and the item is pending again.
        """
        if not self.sqlite:  # keep seq order == commit order, so feed cursors never skip a row
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7263001)")
        row = cv.decision_row(item_id, d, now, self.origin, reverts, by)
        seq = conn.execute(insert(decisions).values(row).returning(decisions.c.seq)).scalar_one()
        n = cv.naive(now)
        if reverts:
            values: dict[str, Any] = {"status": "pending", "verdict": None, "decided_at": None,
                                      "decided_by": None, "approvals": 0}
            action = "undo"
        elif status == "pending":
            values = {"status": "pending", "approvals": items.c.approvals + 1}
            action = "approve_1_of_2"
        else:
            values = {"status": status, "verdict": d.verdict, "decided_at": n, "decided_by": d.reviewer,
                      "approvals": items.c.approvals + int(d.verdict in ("approve", "correct"))}
            action = "expire" if status == "expired" else "decide"
        values.update(claimed_by=None, lease_token=None, lease_expires_at=None, updated_at=n)
        conn.execute(update(items).where(items.c.id == item_id).values(**values))
        detail = {"decision": d.id, "verdict": row["verdict"], "reasons": d.reasons}
        if reverts:
            detail["reverts"] = reverts
        self._audit(conn, [{"actor": d.reviewer, "action": action, "item_id": item_id,
                            "detail": detail}], now)
        return cv.decision(_Row({**row, "seq": seq}))

    def decide(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None) -> Decision:
        check_human(decision.reviewer)
        return self._decide(item_id, decision, lease, "human")

    def decide_by_policy(self, item_id: str, verdict: str, rule: str) -> Decision:
        """Settle an open action by a policy rule (recorded as `policy:<rule>`, by `policy`)."""
        d = DecisionIn(verdict="approve" if verdict == "approve" else "reject",
                       reviewer=f"{POLICY_PREFIX}{rule}", reasons=["policy"], comment=f"policy rule {rule!r}")
        return self._decide(item_id, d, None, "policy")

    def _decide(self, item_id: str, decision: DecisionIn, lease: Lease | None, by: DecidedBy) -> Decision:
        now = self.clock()
        expired = False
        with self._write() as conn:
            prior = conn.execute(select(decisions).where(decisions.c.id == decision.id)).first()
            if prior is not None:
                if prior.item_id == item_id and prior.content_hash == cv.decision_hash(item_id, decision):
                    return cv.decision(prior)
                raise Conflict(f"decision id {decision.id} was already used for a different decision")
            row = self._locked_item(conn, item_id)
            item = parse_item(row.payload)
            rules.check_shape(item, decision)
            if row.status == "expired":
                raise Expired(f"item {item_id} expired at its deadline and was rejected",
                              hint="the agent has been told no; it must ask again")
            if row.status == "decided":
                raise AlreadyDecided(f"item {item_id} was already decided ({row.verdict} by {row.decided_by})",
                                     hint=f"reviewer undo {item_id} first to change it")
            n = cv.naive(now)
            if row.status == "claimed" and row.lease_expires_at > n:
                if lease is None or lease.token != row.lease_token:
                    raise LeaseError(f"item {item_id} is claimed by {row.claimed_by}",
                                     hint="only the reviewer holding the lease can decide it")
            elif lease is not None and row.status != "claimed":
                raise LeaseError(f"the lease on {item_id} was lost", hint="open the item again")
            if row.expires_at is not None and row.expires_at <= n:
                self._sweep(conn, now)
                expired = True
            elif rules.needs_second_approval(item, decision, approvals=row.approvals,
                                             two_approvers=row.queue in self.two_approvers):
                result = self._record(conn, item_id, decision, now, status="pending", by=by)
            else:
                if row.approvals:
                    decision = rules.second_approval(item_id, decision, rules.current_round(
                        [cv.decision(r) for r in conn.execute(select(decisions).where(
                            decisions.c.item_id == item_id).order_by(decisions.c.seq))]))
                result = self._record(conn, item_id, decision, now, by=by)
        if expired:
            raise Expired(f"item {item_id} passed its deadline before the decision; it was rejected",
                          hint="the agent has been told no; it must ask again")
        return result

    def undo(self, item_id: str, reviewer: str) -> Decision:
        check_human(reviewer)
        now = self.clock()
        with self._write() as conn:
            row = self._locked_item(conn, item_id)
            if row.status == "expired":
                raise Expired(f"item {item_id} expired; an expiry cannot be undone")
            if row.status != "decided":
                raise Conflict(f"item {item_id} has no decision to undo (it is {row.status})")
            last = conn.execute(
                select(decisions.c.id)
                .where(decisions.c.item_id == item_id, decisions.c.verdict != "revert")
                .order_by(decisions.c.seq.desc()).limit(1)
            ).scalar_one()
            d = DecisionIn(verdict="reject", reviewer=reviewer, comment=f"undo of {last}")
            return self._record(conn, item_id, d, now, reverts=last)

    # -- export cursors -----------------------------------------------------------------

    def get_cursor(self, name: str) -> int:
        with self._read() as conn:
            return conn.execute(select(cursors.c.position).where(cursors.c.name == name)).scalar() or 0

    def set_cursor(self, name: str, position: int) -> None:
        now = cv.naive(self.clock())
        with self._write() as conn:
            done = conn.execute(
                update(cursors).where(cursors.c.name == name).values(position=position, updated_at=now)
            ).rowcount
            if not done:
                conn.execute(insert(cursors).values(name=name, position=position, updated_at=now))


def _file_id(path: str | None) -> tuple[int, int] | None:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st else None


def _data_version(raw: Any) -> int | None:
    """SQLite's data_version on a held connection; None (always "maybe changed") elsewhere."""
    if raw is None:
        return None
    cur = raw.cursor()
    try:
        cur.execute("PRAGMA data_version")
        return cur.fetchone()[0]
    finally:
        cur.close()


class _Row:
    """Adapter so `convert.decision` reads a plain dict like a result row."""

    def __init__(self, mapping: dict[str, Any]):
        self._mapping = mapping


def _storage_error(e: DBAPIError) -> StorageError:
    msg = str(e.orig) if getattr(e, "orig", None) is not None else str(e)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return StorageError("the queue database is locked by another process",
                            hint="retry in a moment; if it persists, find the process holding it")
    if "not a database" in low or "malformed" in low:
        return StorageError("the queue database file is corrupt or not a reviewer database",
                            hint="check --db / REVIEWER_DB points at the right file")
    if "unable to open" in low or "readonly" in low or "read-only" in low:
        return StorageError(f"cannot open the queue database: {msg}",
                            hint="check the path exists and is writable")
    if "disk" in low and "full" in low:
        return StorageError("the disk is full; nothing was written", hint="free space and retry")
    if "connection" in low or "could not connect" in low:
        return StorageError(f"cannot reach the database: {msg.splitlines()[0]}",
                            hint="is the server running and the URL right?")
    return StorageError(f"database error: {msg.splitlines()[0] if msg else type(e).__name__}")

