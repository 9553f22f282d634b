"""`SqlQueue`: the ReviewQueue over SQLite or PostgreSQL (SQLAlchemy Core on the hot paths).

The rules it enforces are `reviewer.rules`; the SQL pieces are in `storage.queries`, search in
`storage.fts`, wake-ups in `storage.wake`, error mapping in `storage.errors`.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from reviewer import rules
from reviewer.errors import (
    AlreadyDecided,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    LeaseError,
    NotFound,
    ReviewerError,
    StorageError,
    no_item,
)
from reviewer.models import (
    STORED,
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
    check_label,
    new_id,
    parse_item,
    utcnow,
)
from reviewer.rules import POLICY_PREFIX, DecidedBy, check_human
from reviewer.search import words as query_words
from reviewer.vocab import DEFAULT_LEASE_S, OPEN, SETTLED, STATUSES

from . import chain, fts, migrate, wake
from . import convert as cv
from . import queries as sq
from .engine import is_sqlite, make_engine, sqlite_file
from .errors import storage_error
from .schema import CLAIMED_SQL
from .tables import audit, cursors, decisions, items, queue_settings, suggestions

BATCH = 500  # ids per IN (...) lookup
FEED_LOCK = 7263001  # PostgreSQL advisory lock: decision writers share it, feed readers take it alone
ANALYZE_FROM = 1_000  # items: below this the planner's guesses are good enough
SUMMARY = [items.c[f] for f in cv.SUMMARY_FIELDS]
FULL = [*SUMMARY, items.c.payload]  # what a QueueItem is built from (not the search text)


CHAIN_RECHECK_S = 60.0  # how often readiness walks the whole audit chain again
MEDIAN_OF = 1000  # recent timed decisions behind stats()' median_decision_ms
NOTIFY_COUNTS = ("notify_sent", "notify_failed", "notify_dropped")  # in stats(), from the audit log


class SqlQueue:
    """A review queue in a SQL database. Thread-safe; one instance per process is enough."""

    def __init__(self, engine: Engine, *, origin: str | None = None, migrate_schema: bool = True,
                 clock: Callable[[], datetime] = utcnow):
        """`clock`: the current UTC time, for leases, deadlines and decisions (tests pass a fake).
        Each queue's rules (two approvers, lease length) are read from the database."""
        self.engine = engine
        self.clock = clock
        self.sqlite = is_sqlite(engine)
        self.origin = origin or f"{socket.gethostname()}:{os.getpid()}"
        self._file = sqlite_file(engine)
        self._file_id = _file_id(self._file)
        self._inserted = ANALYZE_FROM  # look at the statistics on the first enqueue, then
        # after every ANALYZE_FROM new items (not on each gate request)
        self._notify: Any = None  # reviewer.notify.Notifier, once a queue with rules gets an item
        self._chain_checked: tuple[tuple[int, str], float] | None = None  # (pos, link), when walked whole
        self._chain_lock = threading.Lock()
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
        except DBAPIError as e:
            self._check_file()
            raise storage_error(e) from e

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (`BEGIN IMMEDIATE` on SQLite). Items settled in it
        (`conn.info["settled"]`) are woken after the commit."""
        settled: list[str] = []
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            conn.info["settled"] = settled
            try:
                with conn.begin():
                    yield conn
                    chain.seal(conn, lock=not self.sqlite)  # link its audit trail, last
            finally:
                conn.info.pop("settled", None)
                conn.info.pop(chain.UNSEALED, None)  # rows of a transaction rolled back
        if settled and self._file is not None:
            wake.wake_sqlite(self._file, settled)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def _check_file(self) -> None:
        """A SQLite file deleted or replaced under a waiting process keeps working through
        the open descriptors, but nobody else sees it any more: say so instead of waiting."""
        if self._file is not None and _file_id(self._file) != self._file_id:
            raise StorageError(f"the queue database {self._file} was deleted or replaced",
                               hint="restore the file or point REVIEWER_DB at the new queue")

    def _audit(self, conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
        if rows:
            for r in rows:
                r.setdefault("origin", self.origin)
                r["at"] = cv.naive(now)
                r["detail"] = cv.dumps(r.get("detail") or {})
            seqs = self._bulk_insert(conn, audit, rows, seqs=True)
            chain.written(conn, audit, [{**r, "item_id": r.get("item_id"), "seq": s} for r, s in zip(rows, seqs, strict=True)])

    def _bulk_insert(self, conn: Connection, table: Any, rows: list[dict[str, Any]], *,
                     seqs: bool = False) -> list[int]:
        """Insert many rows; with `seqs`, return their seqs in order. On SQLite, straight to
        the driver's executemany: SQLAlchemy's per-value type processing costs more than the
        insert itself on this path."""
        if not self.sqlite:
            if not seqs:
                conn.execute(insert(table), rows)
                return []
            q = insert(table).returning(table.c.seq, sort_by_parameter_order=True)
            return list(conn.execute(q, rows).scalars())
        cols = list(rows[0])
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, [tuple(cv.sqlite_value(r[c]) for c in cols) for r in rows])
        if not seqs:
            return []
        # the write transaction is exclusive, so the rows took the next rowids, in order
        last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
        return list(range(last - len(rows) + 1, last + 1))

    # -- enqueue ------------------------------------------------------------------------

    def enqueue(self, item: OutputItem | ActionItem, *, actor: str = "ingest") -> EnqueueResult:
        return self.enqueue_many([item], actor=actor)[0]

    def enqueue_many(
        self, batch: Sequence[OutputItem | ActionItem], *, actor: str = "ingest"
    ) -> list[EnqueueResult]:
        now = self.clock()
        prepared = [(it.id or new_id(), cv.item_payload(it), it) for it in batch]
        for attempt in range(3):
            try:
                results = self._enqueue_prepared(prepared, now, actor)
                break
            except IntegrityError:  # a concurrent writer inserted one of our ids: look again
                if attempt == 2:
                    raise StorageError("could not enqueue: ids kept colliding") from None
        self._inserted += sum(r.outcome == "inserted" for r in results)
        if self.sqlite and self._inserted >= ANALYZE_FROM:
            self._inserted = 0
            self._analyze_if_grown()
        return results

    def _analyze_if_grown(self) -> None:
        """Refresh SQLite's table statistics when the queue has doubled since they were taken.

        Without them the planner guesses, and at a million items a guess can turn the first
        page from under a millisecond into seconds. Doubling keeps the total cost of ANALYZE
        below twice its last run (about a second at a million items)."""
        with self._read() as conn:
            rows = conn.execute(select(func.max(items.c.seq))).scalar() or 0
            has_stats = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None
            stat = conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = 'items' LIMIT 1").scalar() \
                if has_stats else None
        known = int(stat.split()[0]) if stat else 0
        if rows >= ANALYZE_FROM and rows >= 2 * known:
            with self._write() as conn:
                conn.exec_driver_sql("ANALYZE items")

    def _enqueue_prepared(
        self, prepared: list[tuple[str, str, OutputItem | ActionItem]], now: datetime, actor: str
    ) -> list[EnqueueResult]:
        results: list[EnqueueResult] = []
        announce: list[tuple[str, Any, datetime | None, list[Any]]] = []
        with self._write() as conn:
            ids = [p[0] for p in prepared]
            existing: dict[str, str] = {}
            for i in range(0, len(ids), BATCH):
                chunk = ids[i : i + BATCH]
                q = select(items.c.id, items.c.content_hash).where(items.c.id.in_(chunk))
                existing.update((r[0], r[1]) for r in conn.execute(q))
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
                    results.append(EnqueueResult(
                        id=item_id, outcome="conflict",
                        detail="an item with this id and different content is already queued"))
            if rows:
                last = conn.execute(select(func.max(items.c.seq))).scalar() or 0
                self._bulk_insert(conn, items, rows)
                if self.sqlite:
                    fts.index_new_items(conn, last)
                self._audit(conn, [{"actor": actor, "action": "enqueue", "item_id": r["id"]} for r in rows],
                            now)
                announce = self._announcements(conn, rows, {p[0]: p[2] for p in prepared})
        if rows and announce:
            from reviewer.notify import dispatch

            for item_id, it, deadline, rules in announce:
                dispatch(self._notifier(), rules, item_id, it, deadline, now)
        return results

    # -- notifications ------------------------------------------------------------------

    def _announcements(self, conn: Connection, rows: list[dict[str, Any]],
                       by_id: dict[str, OutputItem | ActionItem]) -> list[tuple[str, Any, datetime | None, list[Any]]]:
        """The new items whose queue has notification rules, with the rules (read in the
        enqueue's transaction; sent after it commits)."""
        queues = {r["queue"] for r in rows}
        found = conn.execute(select(queue_settings.c.queue, queue_settings.c.settings)
                             .where(queue_settings.c.queue.in_(queues))).all()
        rules = {q: s.notify for q, text in found if (s := QueueSettings.model_validate_json(text)).notify}
        return [(r["id"], by_id[r["id"]], cv.aware(r["expires_at"]) if r.get("expires_at") else None, rules[r["queue"]])
                for r in rows if r["queue"] in rules]

    def _notifier(self) -> Any:
        if self._notify is None:
            from reviewer.notify import Notifier

            self._notify = Notifier(record=self._record_notification, still_waiting=self._still_waiting)
        return self._notify

    def _record_notification(self, what: str) -> None:
        with self._write() as conn:
            self._audit(conn, [{"actor": "notifier", "action": f"notify_{what}", "item_id": None}], self.clock())

    def _still_waiting(self, item_id: str) -> bool:
        with self._read() as conn:
            status = conn.execute(select(items.c.status).where(items.c.id == item_id)).scalar()
        return status == "pending"

    # -- reads --------------------------------------------------------------------------

    def get(self, item_id: str) -> QueueItem:
        with self._read() as conn:
            return self._get(conn, item_id)

    def get_many(self, item_ids: Sequence[str]) -> list[QueueItem]:
        out: list[QueueItem] = []
        with self._read() as conn:
            for i in range(0, len(item_ids), BATCH):
                chunk = list(item_ids[i : i + BATCH])
                rows = {r.id: r for r in conn.execute(select(*FULL).where(items.c.id.in_(chunk)))}
                history: dict[str, list[Decision]] = {}
                for d in conn.execute(select(decisions).where(decisions.c.item_id.in_(chunk))
                                      .order_by(decisions.c.seq)):
                    history.setdefault(d.item_id, []).append(cv.decision(d))
                drafts = self._suggestions(conn, chunk)
                out += [cv.queue_item(rows[x], history.get(x, []), drafts.get(x, [])) for x in chunk if x in rows]
        return out

    def _get(self, conn: Connection, item_id: str) -> QueueItem:
        row = conn.execute(select(*FULL).where(items.c.id == item_id)).first()
        if row is None:
            raise no_item(item_id)
        ds = conn.execute(select(decisions).where(decisions.c.item_id == item_id).order_by(decisions.c.seq))
        return cv.queue_item(row, [cv.decision(d) for d in ds], self._suggestions(conn, [item_id]).get(item_id, []))

    def _suggestions(self, conn: Connection, item_ids: list[str]) -> dict[str, list[Suggestion]]:
        found: dict[str, list[Suggestion]] = {}
        for r in conn.execute(select(suggestions.c.item_id, suggestions.c.payload)
                              .where(suggestions.c.item_id.in_(item_ids)).order_by(suggestions.c.seq)):
            found.setdefault(r.item_id, []).append(Suggestion.model_validate_json(r.payload, context=STORED))
        return found

    # -- suggestions --------------------------------------------------------------------

    def suggest(self, suggestion: Suggestion, *, actor: str) -> Suggestion:
        now = self.clock()
        with self._write() as conn:
            row = conn.execute(select(items.c.payload, items.c.queue).where(items.c.id == suggestion.item_id)).first()
            if row is None:
                raise no_item(suggestion.item_id)
            item = parse_item(row.payload, stored=True)
            rules.check_shape(item, suggestion)
            rules.check_reasons(item, suggestion, self._settings(conn, row.queue))
            stored = suggestion.model_copy(update={"created_at": now, "by": actor})
            key = (suggestions.c.item_id == stored.item_id, suggestions.c.model == stored.model,
                   suggestions.c.prompt_version == stored.prompt_version)
            conn.execute(suggestions.delete().where(*key))
            conn.execute(insert(suggestions).values(item_id=stored.item_id, model=stored.model,
                                                    prompt_version=stored.prompt_version,
                                                    payload=stored.model_dump_json(), created_at=cv.naive(now)))
            self._audit(conn, [{"actor": actor, "action": "suggest", "item_id": stored.item_id,
                                "detail": {"model": stored.model, "prompt_version": stored.prompt_version,
                                           "verdict": stored.verdict, "confidence": stored.confidence,
                                           "cost_usd": stored.cost_usd}}], now)
        return stored

    def list_items(
        self,
        flt: ItemFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
        order: str = "priority",
    ) -> list[ItemSummary]:
        with self._read() as conn:
            if after is not None:
                if order not in sq.KEYSET:
                    raise Invalid(f"keyset paging (after=) works with order {', '.join(sq.KEYSET)}")
                mark = conn.execute(select(items).where(items.c.id == after)).first()
                if mark is None:
                    raise NotFound(f"cursor item {after!r} does not exist")
                places = sq.after(order, mark)
            else:
                places = [([c] if c is not None else [], key) for c, key in sq.segments(order)]
            rows: list[Any] = []
            for conds, key in places:
                if len(rows) >= limit:
                    break
                base = select(*SUMMARY).where(*sq.where(flt), *conds)
                if offset and len(places) > 1:  # skip a whole segment without reading it
                    n = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
                    if offset >= n:
                        offset -= n
                        continue
                rows.extend(conn.execute(base.order_by(*key).offset(offset).limit(limit - len(rows))))
                offset = 0
            return [cv.summary(r) for r in rows]

    def count(self, flt: ItemFilter | None = None) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(items).where(*sq.where(flt))).scalar_one()

    def stats(self, queues: Sequence[str] | None = None) -> dict[str, int]:
        """The counts, over every queue or only `queues` (a gateway token's)."""
        midnight = self.clock().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        mine = [] if queues is None else [items.c.queue.in_(list(queues))]
        ids = [] if queues is None else [select(items.c.id).where(*mine)]
        with self._read() as conn:
            out = dict.fromkeys(STATUSES, 0)
            q = select(items.c.status, func.count()).where(*mine).group_by(items.c.status)
            out.update({r[0]: r[1] for r in conn.execute(q)})
            out["decided_today"] = conn.execute(
                select(func.count()).select_from(items)
                .where(items.c.status == "decided", items.c.decided_at >= cv.naive(midnight), *mine)
            ).scalar_one()
            took = conn.execute(select(decisions.c.duration_ms).where(
                decisions.c.duration_ms.is_not(None), *[decisions.c.item_id.in_(i) for i in ids])
                                .order_by(decisions.c.seq.desc()).limit(MEDIAN_OF)).scalars().all()
            notified: dict[str, int] = dict(conn.execute(select(audit.c.action, func.count()).where(
                audit.c.action.in_(NOTIFY_COUNTS), *[audit.c.item_id.in_(i) for i in ids])
                .group_by(audit.c.action)).all())
        out["total"] = sum(out[s] for s in STATUSES)
        out["median_decision_ms"] = int(statistics.median(took)) if took else 0
        out.update({a: notified.get(a, 0) for a in NOTIFY_COUNTS})
        return out

    def facets(self, queues: Sequence[str] | None = None) -> dict[str, list[str]]:
        """The queues, tags and flags in use, in every queue or only in `queues`."""
        mine = [] if queues is None else [items.c.queue.in_(list(queues))]
        with self._read() as conn:
            found = conn.execute(select(items.c.queue).where(*mine).distinct().order_by(items.c.queue)).scalars().all()
            tags = conn.execute(select(items.c.tags).where(*mine).distinct()).scalars().all()
            flags = conn.execute(select(items.c.flag_reasons).where(*mine).distinct()).scalars().all()
        return {
            "queues": list(found),
            "tags": sorted({t for x in tags for t in cv.undelimited(x)}),
            "flags": sorted({f for x in flags for f in cv.undelimited(x)}),
        }

    def search(self, query: str, flt: ItemFilter | None = None, *, limit: int = 100) -> list[ItemSummary]:
        from reviewer.search import rank

        ws = query_words(query)
        if not ws:
            return self.list_items(flt, limit=limit, order="triage")
        with self._read() as conn:
            exact = conn.execute(select(*SUMMARY).where(items.c.id == query.strip(), *sq.where(flt))).first()
            if exact is not None:  # an id: that item, without a full-text pass
                return [cv.summary(exact)]
            found = fts.candidates(conn, self.sqlite, ws, sq.where(flt))
            ids = rank(query, found, limit)
            rows = {r.id: r for r in conn.execute(select(*SUMMARY).where(items.c.id.in_(ids)))}
        return [cv.summary(rows[i]) for i in ids if i in rows]

    def similar(self, item_id: str, *, limit: int = 100) -> list[ItemSummary]:
        """A wide pass over the queue's search texts, then each candidate's body (its output,
        or its tool call) compared with this item's by `reviewer.search.near_duplicate`."""
        from reviewer.search import SIMILAR_POOL, TEXT_CHARS, near_duplicate, shortlist

        text_of = func.substr(items.c.search_text, 1, 2 * TEXT_CHARS)
        with self._read() as conn:
            me = conn.execute(select(items.c.queue, items.c.kind, text_of, items.c.payload)
                              .where(items.c.id == item_id)).first()
            if me is None:
                raise no_item(item_id)
            pool = conn.execute(
                select(items.c.id, text_of)
                .where(items.c.queue == me[0], items.c.kind == me[1], items.c.status.in_(OPEN), items.c.id != item_id)
                .order_by(items.c.seq.desc()).limit(SIMILAR_POOL)
            ).all()
            ids = shortlist(me[2], [(r[0], r[1]) for r in pool])
            body = cv.item_body(parse_item(me[3], stored=True))
            scored = []
            for r in conn.execute(select(items.c.id, items.c.payload).where(items.c.id.in_(ids))):
                score = near_duplicate(body, cv.item_body(parse_item(r.payload, stored=True)))
                if score is not None:
                    scored.append((score, r.id))
            best = [i for _, i in sorted(scored, key=lambda x: -x[0])[:limit]]
            rows = {r.id: r for r in conn.execute(select(*SUMMARY).where(items.c.id.in_(best)))}
        return [cv.summary(rows[i]) for i in best if i in rows]

    def decisions_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Decision]:
        """Decisions after `cursor`, in seq order. A cursor never skips a row: on PostgreSQL,
        where transactions may commit out of seq order, the read waits, holding the feed lock
        alone, until every transaction that took a seq has ended (each holds the lock shared
        from before it takes one), so every seq below the newest visible one is settled.
        Decisions on different items never wait for each other, only for a feed read."""
        with self._read() as conn:
            if not self.sqlite:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({FEED_LOCK})")
            q = select(decisions).where(decisions.c.seq > cursor).order_by(decisions.c.seq).limit(limit)
            return [cv.decision(r) for r in conn.execute(q)]

    def audit(self, item_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        q = select(*[audit.c[f] for f in chain.FIELDS["audit"]]).order_by(audit.c.seq).limit(limit)
        if item_id is not None:
            q = q.where(audit.c.item_id == item_id)
        with self._read() as conn:
            return [AuditEntry(**{**r._mapping, "at": cv.aware(r.at), "detail": json.loads(r.detail)})
                    for r in conn.execute(q)]

    def verify_chain(self, anchor: str | None = None) -> chain.Report:
        """Walk the whole audit chain (see `storage.chain`); with `anchor`, a head hash kept
        elsewhere that the chain must still contain."""
        with self._errors(), self.engine.connect() as conn:
            if not self.sqlite:  # one snapshot for the head and every row
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                report = chain.verify(conn, anchor=anchor)
        if report.ok:
            self._chain_checked = ((report.pos, report.head), time.monotonic())
        return report

    def chain_problem(self) -> str | None:
        """What is wrong with the audit chain, or None, for the gateway's readiness: the whole
        chain is walked on the first call and again once CHAIN_RECHECK_S have passed; calls in
        between walk only the rows written since (from the last row checked, which must
        still be as it was)."""
        with self._chain_lock:
            last = self._chain_checked
            if last is None or time.monotonic() - last[1] >= CHAIN_RECHECK_S:
                report = self.verify_chain()
            else:
                with self._errors(), self.engine.connect() as conn:
                    if not self.sqlite:
                        conn = conn.execution_options(isolation_level="REPEATABLE READ")
                    with conn.begin():
                        report = chain.verify(conn, start=last[0])
                if report.ok:
                    self._chain_checked = ((report.pos, report.head), last[1])
            if report.ok:
                return None
            self._chain_checked = None
            return f"the audit chain is broken at {report.broken}"

    def changes(self, since: int | None = None, *, limit: int = 500) -> Changes:
        """Items whose state changed after token `since` (None: just the current token).

        The token is the audit log's position: every state change writes an audit row in
        its own transaction."""
        with self._read() as conn:
            token = conn.execute(select(func.max(audit.c.seq))).scalar() or 0
            if since is None or since >= token:
                return Changes(token=token)
            ids = select(audit.c.item_id).where(audit.c.seq > since, audit.c.seq <= token,
                                                audit.c.item_id.is_not(None)).distinct().limit(limit)
            rows = conn.execute(select(*SUMMARY).where(items.c.id.in_(ids)))
            return Changes(token=token, rows=[cv.summary(r) for r in rows])

    # -- waiting ------------------------------------------------------------------------

    def wait_for_decision(self, item_id: str, timeout_s: float) -> QueueItem:
        """The item once it is settled (decided or expired), or as it is after `timeout_s`.

        Sleeps until the writer that settles this item wakes it (see `storage.wake`); other
        items' changes do not wake it."""
        deadline = time.monotonic() + timeout_s
        with self._waiter(item_id) as waiter:
            while True:
                self._check_file()
                current = self.get(item_id)
                left = deadline - time.monotonic()
                if current.status in SETTLED or left <= 0:
                    return current
                waiter.wait(min(left, wake.FALLBACK_S))

    @contextmanager
    def _waiter(self, item_id: str) -> Iterator[wake.Waiter]:
        if self._file is not None:
            with wake.sqlite_waiter(self._file, item_id) as w:
                yield w
        else:
            with self._errors():
                raw = self.engine.raw_connection()
            with wake.pg_waiter(raw, item_id) as w:
                yield w

    # -- leases -------------------------------------------------------------------------

    def _sweep(self, conn: Connection, now: datetime) -> list[str]:
        """Return lapsed leases to `pending` and expire overdue actions. Returns expired ids."""
        n = cv.naive(now)
        lapsed = conn.execute(
            update(items)
            .where(text(CLAIMED_SQL), items.c.lease_expires_at <= n)  # walks ix_items_claimed
            .values(status="pending", claimed_by=None, lease_token=None, lease_expires_at=None, updated_at=n)
            .returning(items.c.id)
        ).scalars().all()
        self._audit(conn, [{"actor": rules.SYSTEM, "action": "lease_expired", "item_id": i} for i in lapsed], now)
        overdue = conn.execute(select(items.c.id, items.c.on_timeout).where(
            items.c.status.in_(OPEN), items.c.kind == "action", items.c.expires_at <= n)).all()
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
            if row.status in OPEN:
                self._expire(conn, item_id, row.on_timeout, comment, now)
        return self.get(item_id)

    def take_decision(self, item_id: str, *, actor: str = "agent") -> QueueItem:
        """Record that a gate took the item's standing decision and its agent acts on it: from
        now on it is final, and undo refuses. An item that is open again (its decision was
        undone before the gate read it) is first expired as a reject, which is then what the
        agent is told, so the record and the agent agree. Idempotent."""
        now = self.clock()
        with self._write() as conn:
            row = self._locked_item(conn, item_id)
            if row.final_decision is None:
                if row.status in OPEN:
                    self._record(conn, item_id, rules.timeout_decision(
                        None, "its decision was undone before the agent read it"), now, status="expired", by="system")
                standing = rules.standing_decision(self._get(conn, item_id))
                assert standing is not None  # settled, so a decision stands
                conn.execute(update(items).where(items.c.id == item_id).values(final_decision=standing.id))
                self._audit(conn, [{"actor": actor, "action": "final", "item_id": item_id,
                                    "detail": {"decision": standing.id, "verdict": standing.verdict}}], now)
            return self._get(conn, item_id)

    def expire_overdue(self, now: datetime | None = None) -> list[str]:
        with self._write() as conn:
            return self._sweep(conn, now or self.clock())

    def _locked_item(self, conn: Connection, item_id: str) -> Any:
        q = select(items).where(items.c.id == item_id)
        if not self.sqlite:
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise no_item(item_id)
        return row

    def _lease(self, conn: Connection, item_id: str, reviewer: str, token: str, now: datetime,
               lease_s: float) -> Claim:
        """The claim just written, with its queue's settings; a queue's own lease length
        overrides the one asked for."""
        item = self._get(conn, item_id)
        settings = self._settings(conn, item.queue)
        if settings.lease_s is not None and settings.lease_s != lease_s:
            lease_s = settings.lease_s
            conn.execute(update(items).where(items.c.id == item_id).values(
                lease_expires_at=cv.naive(now + timedelta(seconds=lease_s))))
            item = item.model_copy(update={"lease_expires_at": now + timedelta(seconds=lease_s)})
        expires = now + timedelta(seconds=lease_s)
        self._audit(conn, [{"actor": reviewer, "action": "claim", "item_id": item_id,
                            "detail": {"lease_s": lease_s}}], now)
        lease = Lease(item_id=item_id, token=token, reviewer=reviewer, expires_at=expires)
        return Claim(lease=lease, item=item, settings=settings.without_secrets())

    def _claim_first(self, conn: Connection, reviewer: str, places: list[tuple[list[Any], tuple[Any, ...]]],
                     flt: ItemFilter | None, now: datetime, lease_s: float, backwards: bool = False) -> Claim | None:
        """Claim the first pending item of `places` (conditions and sort key, tried in turn)."""
        token = new_id()
        n = cv.naive(now)
        for conds, key in places:
            pick = (select(items.c.seq).where(items.c.status == "pending", *sq.where(flt), *conds)
                    .order_by(*sq.sort(key, backwards)).limit(1))
            if not self.sqlite:
                pick = pick.with_for_update(skip_locked=True)
            item_id = conn.execute(
                update(items)
                .where(items.c.seq == pick.scalar_subquery(), items.c.status == "pending")
                .values(status="claimed", claimed_by=reviewer, lease_token=token,
                        lease_expires_at=cv.naive(now + timedelta(seconds=lease_s)), updated_at=n)
                .returning(items.c.id)
            ).scalar()
            if item_id is not None:
                return self._lease(conn, item_id, reviewer, token, now, lease_s)
        return None

    def _claim_among(self, conn: Connection, reviewer: str, ids: list[str], now: datetime,
                     lease_s: float) -> Claim | None:
        """Claim the first pending item of `ids`, in that order."""
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            pending = set(conn.execute(select(items.c.id).where(
                items.c.id.in_(chunk), items.c.status == "pending")).scalars())
            for item_id in chunk:
                if item_id in pending:
                    claimed = self._claim_row(conn, item_id, reviewer, now, lease_s, quiet=True)
                    if claimed is not None:
                        return claimed
        return None

    def claim_next(
        self, reviewer: str, where: ItemFilter | NextItem | None = None, *,
        after: str | None = None, backwards: bool = False, lease_s: float = DEFAULT_LEASE_S,
    ) -> Claim | None:
        check_human(reviewer)
        now = self.clock()
        spec = where if isinstance(where, NextItem) else NextItem(filter=where, order="priority")
        with self._write() as conn:
            self._sweep(conn, now)
            return self._claim_from(conn, reviewer, spec, after, None, backwards, now, lease_s)

    def _claim_from(self, conn: Connection, reviewer: str, spec: NextItem, after: str | None,
                    mark: Any, backwards: bool, now: datetime, lease_s: float) -> Claim | None:
        """The next item of `spec` after item `after` (its row as listed: `mark`), claimed."""
        if spec.ids is not None:
            ids = spec.ids[::-1] if backwards else spec.ids
            if after is not None and after in ids:
                ids = ids[ids.index(after) + 1 :]
            return self._claim_among(conn, reviewer, ids, now, lease_s)
        if after is not None and mark is None:
            mark = conn.execute(select(items).where(items.c.id == after)).first()
            if mark is None:
                raise NotFound(f"no item with id {after!r}")
        if mark is not None:
            places = sq.after(spec.order, mark, backwards=backwards)
        else:
            segs = sq.segments(spec.order)
            places = [([c] if c is not None else [], key) for c, key in (segs[::-1] if backwards else segs)]
        return self._claim_first(conn, reviewer, places, spec.filter, now, lease_s, backwards)

    def claim(self, item_id: str, reviewer: str, *, lease_s: float = DEFAULT_LEASE_S) -> Claim:
        check_human(reviewer)
        now = self.clock()
        with self._write() as conn:
            self._sweep(conn, now)
            claimed = self._claim_row(conn, item_id, reviewer, now, lease_s)
            assert claimed is not None
            return claimed

    def _claim_row(self, conn: Connection, item_id: str, reviewer: str, now: datetime, lease_s: float,
                   quiet: bool = False) -> Claim | None:
        """Claim one item (or renew your own claim); with `quiet`, None instead of raising."""
        row = self._locked_item(conn, item_id)
        if row.status in SETTLED:
            if quiet:
                return None
            raise AlreadyDecided(f"item {item_id} is already {row.status}",
                                 hint="reviewer undo ID puts it back in the queue")
        if row.status == "claimed" and row.claimed_by != reviewer:
            if quiet:
                return None
            raise LeaseError(f"item {item_id} is being reviewed by {row.claimed_by} "
                             f"until {cv.aware(row.lease_expires_at):%H:%M:%S} UTC",
                             hint="pick another item, or wait for the lease to run out")
        token = row.lease_token if row.status == "claimed" else new_id()
        conn.execute(update(items).where(items.c.id == item_id).values(
            status="claimed", claimed_by=reviewer, lease_token=token,
            lease_expires_at=cv.naive(now + timedelta(seconds=lease_s)), updated_at=cv.naive(now)))
        return self._lease(conn, item_id, reviewer, token, now, lease_s)

    def renew(self, lease: Lease, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        now = self.clock()
        with self._write() as conn:
            queue = conn.execute(select(items.c.queue).where(items.c.id == lease.item_id)).scalar()
            own = self._settings(conn, queue).lease_s if queue is not None else None
            expires = now + timedelta(seconds=own or lease_s)
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
                self._audit(conn, [{"actor": lease.reviewer, "action": "release", "item_id": lease.item_id}],
                            now)

    # -- decisions ----------------------------------------------------------------------

    def _record(
        self, conn: Connection, item_id: str, d: DecisionIn, now: datetime, *,
        status: str = "decided", reverts: str | None = None, by: DecidedBy = "human",
        batch: str | None = None, step: rules.ReviewStep | None = None,
    ) -> Decision:
        """Append a decision row, update the item, audit it: all in the caller's transaction.

        `status` is `decided`, `expired` (a system timeout) or `pending` (the first of two
        approvals, or with `step` one of k reviews: the item shows `disputed` as its verdict
        while its reviews disagree); with `reverts`, the row is an undo and the item is
        pending again.
        """
        if not self.sqlite:  # writers share the feed lock; a feed reader takes it alone (below)
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({FEED_LOCK})")
        row = cv.decision_row(item_id, d, now, self.origin, reverts, by, batch)
        seq = conn.execute(insert(decisions).values(row).returning(decisions.c.seq)).scalar_one()
        chain.written(conn, decisions, [{**row, "seq": seq}])
        n = cv.naive(now)
        if reverts:
            values: dict[str, Any] = {"status": "pending", "verdict": None, "decided_at": None,
                                      "decided_by": None, "approvals": 0}
            action = "undo"
        elif status == "pending" and step is not None:
            values = {"status": "pending", "verdict": "disputed" if step == "disputed" else None}
            action = "disputed" if step == "disputed" else "review"
        elif status == "pending":
            values = {"status": "pending", "approvals": items.c.approvals + 1}
            action = "approve_1_of_2"
        else:
            values = {"status": status, "verdict": d.verdict, "decided_at": n, "decided_by": d.reviewer,
                      "approvals": items.c.approvals + int(d.verdict in rules.APPROVALS)}
            action = "expire" if status == "expired" else "decide"
        values.update(claimed_by=None, lease_token=None, lease_expires_at=None, updated_at=n)
        conn.execute(update(items).where(items.c.id == item_id).values(**values))
        detail: dict[str, Any] = {"decision": d.id, "verdict": row["verdict"], "reasons": d.reasons}
        if reverts:
            detail["reverts"] = reverts
        self._audit(conn, [{"actor": d.reviewer, "action": action, "item_id": item_id, "detail": detail}], now)
        if status in SETTLED and not reverts:
            conn.info["settled"].append(item_id)
            if not self.sqlite:
                conn.exec_driver_sql("SELECT pg_notify(%s, '')", (wake.pg_channel(item_id),))
        return cv.decision(cv.Row({**row, "seq": seq}))

    def decide(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None) -> Decision:
        check_human(decision.reviewer)
        return self._decide(item_id, decision, lease, "human", None)[0]

    def decide_and_next(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None,
                        then: NextItem | None = None, lease_s: float = DEFAULT_LEASE_S,
                        ) -> tuple[Decision, Claim | None]:
        """Record a decision and claim the next item after this one (as it was listed) in
        `then`, for the same reviewer, in one transaction: one call per key press."""
        check_human(decision.reviewer)
        return self._decide(item_id, decision, lease, "human", then or NextItem(), lease_s)

    def decide_by_policy(self, item_id: str, verdict: str, rule: str) -> Decision:
        """Settle an open action by a policy rule (recorded as `policy:<rule>`, by `policy`)."""
        d = DecisionIn(verdict="approve" if verdict == "approve" else "reject",
                       reviewer=f"{POLICY_PREFIX}{rule}", reasons=["policy"], comment=f"policy rule {rule!r}")
        return self._decide(item_id, d, None, "policy", None)[0]

    def _decide(self, item_id: str, decision: DecisionIn, lease: Lease | None, by: DecidedBy,
                then: NextItem | None, lease_s: float = DEFAULT_LEASE_S) -> tuple[Decision, Claim | None]:
        now = self.clock()
        nxt: Claim | None = None
        with self._write() as conn:
            result, listed = self._decide_in(conn, item_id, decision, lease, by, now)
            if result is not None and then is not None:
                self._sweep(conn, now)  # so the next item is never an overdue action
                nxt = self._claim_from(conn, decision.reviewer, then, item_id, listed, False, now, lease_s)
        if result is None:
            raise Expired(f"item {item_id} passed its deadline before the decision; it was rejected",
                          hint="the agent has been told no; it must ask again")
        return result, nxt

    def _decide_in(self, conn: Connection, item_id: str, decision: DecisionIn, lease: Lease | None,
                   by: DecidedBy, now: datetime, *, batch: str | None = None,
                   settings: dict[str, QueueSettings] | None = None) -> tuple[Decision | None, Any]:
        """Check and record one decision in the caller's transaction; returns it with the
        item's row as it was before. The decision is None when the item had passed its
        deadline (the sweep has then rejected it); every other refusal raises, before
        anything is written."""
        prior = conn.execute(select(decisions).where(decisions.c.id == decision.id)).first()
        if prior is not None:
            if prior.item_id == item_id and prior.content_hash == cv.decision_hash(item_id, decision):
                return cv.decision(prior), None
            raise Conflict(f"decision id {decision.id} was already used for a different decision")
        row = self._locked_item(conn, item_id)
        item = parse_item(row.payload, stored=True)
        rules.check_shape(item, decision)
        cache = settings if settings is not None else {}
        if row.queue not in cache:
            cache[row.queue] = self._settings(conn, row.queue)
        queue_rules = cache[row.queue]
        if by == "human":
            rules.check_reasons(item, decision, queue_rules)
        if batch is not None and (why := rules.bulk_refusal(item, decision.verdict)):
            raise Invalid(why)
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
            return None, row
        if by == "human" and queue_rules.reviews_per_item > 1 and row.kind == "output":
            step = rules.review_step(item, decision, rules.current_round(self._history(conn, item_id)),
                                     queue_rules.reviews_per_item)
            if step in ("more", "disputed"):
                return self._record(conn, item_id, decision, now, status="pending", by=by, batch=batch,
                                    step=step), row
        if rules.needs_second_approval(item, decision, approvals=row.approvals,
                                       two_approvers=queue_rules.two_approvers):
            return self._record(conn, item_id, decision, now, status="pending", by=by, batch=batch), row
        if row.approvals:
            decision = rules.second_approval(item_id, decision, rules.current_round(self._history(conn, item_id)),
                                             proposed=item.action.arguments if item.kind == "action" else None)
        return self._record(conn, item_id, decision, now, by=by, batch=batch), row

    def _history(self, conn: Connection, item_id: str) -> list[Decision]:
        return [cv.decision(r) for r in conn.execute(select(decisions).where(
            decisions.c.item_id == item_id).order_by(decisions.c.seq))]

    def decide_many(self, batch: BatchIn) -> BatchResult:
        """One decision for many items, in one transaction, as batch `batch.decision.id`.
        Each item gets its own decision (id derived from the batch's); an item that cannot
        take it is skipped with why, and the rest are still decided."""
        d = batch.decision
        check_human(d.reviewer)
        now = self.clock()
        out = BatchResult(batch=d.id)
        cache: dict[str, QueueSettings] = {}
        with self._write() as conn:
            for item_id in dict.fromkeys(batch.item_ids):
                one = d.model_copy(update={"id": rules.batch_decision_id(d.id, item_id)})
                try:
                    decided, _ = self._decide_in(conn, item_id, one, None, "human", now, batch=d.id,
                                                 settings=cache)
                except ReviewerError as e:
                    out.skipped[item_id] = str(e)
                    continue
                if decided is None:
                    out.skipped[item_id] = "it passed its deadline and was rejected"
                else:
                    out.decided.append(item_id)
        return out

    def undo(self, item_id: str, reviewer: str) -> Decision:
        check_human(reviewer)
        now = self.clock()
        with self._write() as conn:
            return self._undo_in(conn, item_id, reviewer, now)

    def _undo_in(self, conn: Connection, item_id: str, reviewer: str, now: datetime,
                 only: str | None = None) -> Decision:
        """Revert the item's last decision (which must be `only`, when given)."""
        row = self._locked_item(conn, item_id)
        if row.status == "expired":
            raise Expired(f"item {item_id} expired; an expiry cannot be undone")
        if row.status != "decided":
            raise Conflict(f"item {item_id} has no decision to undo (it is {row.status})")
        if row.final_decision is not None:
            raise Conflict(f"item {item_id} cannot be undone: the agent has already acted on this decision",
                           hint="the action ran as decided; reverse it with a new action if it must be")
        last = conn.execute(
            select(decisions.c.id)
            .where(decisions.c.item_id == item_id, decisions.c.verdict != "revert")
            .order_by(decisions.c.seq.desc()).limit(1)
        ).scalar_one()
        if only is not None and last != only:
            raise Conflict(f"item {item_id} was decided again since; its newer decision stands")
        d = DecisionIn(verdict="reject", reviewer=reviewer, comment=f"undo of {last}")
        return self._record(conn, item_id, d, now, reverts=last)

    def undo_batch(self, batch: str, reviewer: str, *, queues: Sequence[str] | None = None) -> BatchResult:
        """Revert a bulk decision; with `queues`, only if all its items are in them."""
        check_human(reviewer)
        now = self.clock()
        out = BatchResult(batch=batch)
        with self._write() as conn:
            done = conn.execute(select(decisions.c.item_id, decisions.c.id, decisions.c.reviewer, items.c.queue)
                                .join(items, items.c.id == decisions.c.item_id).where(
                decisions.c.batch == batch).order_by(decisions.c.seq)).all()
            if not done:
                raise NotFound(f"no bulk decision {batch}")
            if queues is not None and any(r.queue not in queues for r in done):
                raise Forbidden(f"bulk decision {batch} holds items of queues this token may not use")
            if done[0].reviewer != reviewer:
                raise Forbidden(f"bulk decision {batch} is {done[0].reviewer}'s, not {reviewer}'s",
                                hint="only its reviewer can undo a whole batch; undo items one by one")
            for item_id, decision_id, _, _ in done:
                try:
                    self._undo_in(conn, item_id, reviewer, now, only=decision_id)
                except ReviewerError as e:
                    out.skipped[item_id] = str(e)
                else:
                    out.decided.append(item_id)
        return out

    # -- export cursors -----------------------------------------------------------------

    # -- queue settings -----------------------------------------------------------------

    def _settings(self, conn: Connection, queue: str) -> QueueSettings:
        text = conn.execute(select(queue_settings.c.settings).where(queue_settings.c.queue == queue)).scalar()
        return QueueSettings() if text is None else QueueSettings.model_validate_json(text)

    def queue_settings(self, queue: str) -> QueueSettings:
        with self._read() as conn:
            return self._settings(conn, queue)

    def all_queue_settings(self) -> dict[str, QueueSettings]:
        with self._read() as conn:
            return {r.queue: QueueSettings.model_validate_json(r.settings)
                    for r in conn.execute(select(queue_settings).order_by(queue_settings.c.queue))}

    def set_queue_settings(self, queue: str, settings: QueueSettings, *, actor: str) -> QueueSettings:
        try:
            check_label(queue)
        except ValueError as e:
            raise Invalid(f"queue name {queue!r}: {e}") from e
        now = self.clock()
        text = settings.model_dump_json(exclude_defaults=True)
        with self._write() as conn:
            done = conn.execute(update(queue_settings).where(queue_settings.c.queue == queue).values(
                settings=text, updated_at=cv.naive(now), updated_by=actor)).rowcount
            if not done:
                conn.execute(insert(queue_settings).values(queue=queue, settings=text,
                                                           updated_at=cv.naive(now), updated_by=actor))
            self._audit(conn, [{"actor": actor, "action": "queue_settings",
                                "detail": {"queue": queue, "settings": json.loads(text)}}], now)
        return settings

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

