"""A first look at a SQLite queue with the standard library only, for the TUI's first paint.

Opening `SqlQueue` imports SQLAlchemy and SQLModel, which costs more than Textual's own start.
The queue screen's first page (the default view: open items, triage order) is read here with
plain `sqlite3` instead, and the app opens the real queue right after the first paint; counts
come with it. The queries mirror `SqlQueue.list_items(order="triage")`; `tests/test_peek.py`
checks they agree. `get_document` serves `reviewer show` the same way. Anything unusual (not
SQLite, no file yet, an older schema) returns None and the caller uses the real queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .schema import HEAD, OPEN_ACTION_SQL

if TYPE_CHECKING:
    from reviewer.models import QueueItem

# storage.convert.SUMMARY_FIELDS (that module imports pydantic, which this one avoids)
FIELDS = (
    "id", "kind", "queue", "priority", "status", "risk", "tool", "tags", "flags", "snippet",
    "created_at", "enqueued_at", "expires_at", "claimed_by", "lease_expires_at", "verdict",
    "decided_at", "decided_by", "approvals",
)  # fmt: skip
_COLS = ", ".join(FIELDS)
DECISION_FIELDS = ("id", "item_id", "seq", "verdict", "reviewer", "reasons", "comment", "correction",
                   "arguments", "scores", "duration_ms", "decided_at", "reverts", "origin")
_OPEN = "status IN ('pending', 'claimed')"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _row(r: sqlite3.Row) -> SimpleNamespace:
    """A row with ItemSummary's attributes, without building pydantic validators."""
    d = {k: r[k] for k in FIELDS}
    inner = d["tags"].strip("\n")
    d["tags"] = inner.split("\n") if inner else []
    d["flags"] = [SimpleNamespace(reason=f["reason"], score=f.get("score")) for f in json.loads(d["flags"])]
    for k in ("created_at", "enqueued_at", "expires_at", "lease_expires_at", "decided_at"):
        d[k] = _time(d[k])
    return SimpleNamespace(**d)


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///` queue URL, or None for any other queue."""
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


@contextmanager
def _read_only(url: str) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to a SQLite queue at the current schema, or None."""
    if (path := sqlite_path(url)) is None:
        yield None
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        yield None
        return
    try:
        conn.row_factory = sqlite3.Row
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        yield conn if version is not None and version[0] == HEAD else None
    except sqlite3.Error:
        yield None
    finally:
        conn.close()


def peek(url: str, limit: int = 100) -> list[Any] | None:
    """The first `limit` open items in triage order (objects with ItemSummary's attributes),
    or None. Counting is left to the real queue: a count reads every row's index entry, which
    on a million items costs more than the whole first paint."""
    with _read_only(url) as conn:
        if conn is None:
            return None
        try:
            return _peek(conn, limit)
        except sqlite3.Error:
            return None


def _peek(conn: sqlite3.Connection, limit: int) -> list[Any]:
    rows: list[sqlite3.Row] = []
    for where, order in ((f"{OPEN_ACTION_SQL} AND expires_at IS NOT NULL", "expires_at, priority"),
                         (f"{OPEN_ACTION_SQL} AND expires_at IS NULL", "priority"),
                         (f"{_OPEN} AND NOT ({OPEN_ACTION_SQL})", "priority")):
        if len(rows) < limit:
            rows += conn.execute(f"SELECT {_COLS} FROM items WHERE {where} "
                                 f"ORDER BY {order}, created_at, seq LIMIT ?", (limit - len(rows),)).fetchall()
    return [_row(r) for r in rows]


def get_document(url: str, item_id: str) -> dict[str, Any] | None:
    """One item with its decisions in the shape of QueueItem's JSON (fields at their defaults
    may be absent; timestamps are naive UTC), read without pydantic or SQLAlchemy, for
    `reviewer show`. None when this path does not apply (not SQLite, older schema,
    unreadable). Raises NotFound."""
    with _read_only(url) as conn:
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
            ds = conn.execute("SELECT * FROM decisions WHERE item_id = ? ORDER BY seq", (item_id,)).fetchall()
            trail = conn.execute("SELECT at, actor, action, detail FROM audit WHERE item_id = ? ORDER BY seq",
                                 (item_id,)).fetchall()
            drafts = conn.execute("SELECT payload FROM suggestions WHERE item_id = ? ORDER BY seq", (item_id,)).fetchall()
        except sqlite3.Error:
            return None
    if row is None:
        from reviewer.errors import no_item

        raise no_item(item_id)
    doc = {k: row[k] for k in FIELDS}
    inner = doc["tags"].strip("\n")
    doc["tags"] = inner.split("\n") if inner else []
    doc["flags"] = json.loads(doc["flags"])
    doc["item"] = json.loads(row["payload"])
    doc["decisions"] = [_decision(d) for d in ds]
    doc["suggestions"] = [json.loads(d["payload"]) for d in drafts]
    doc["audit"] = [{"at": a["at"], "actor": a["actor"], "action": a["action"], "detail": json.loads(a["detail"])}
                    for a in trail]
    return doc


def _decision(r: sqlite3.Row) -> dict[str, Any]:
    d = {k: r[k] for k in DECISION_FIELDS}
    d["by"] = r["by_kind"]
    for k in ("reasons", "arguments", "scores"):
        d[k] = None if d[k] is None else json.loads(d[k])
    return d


def as_queue_item(doc: dict[str, Any]) -> QueueItem:
    """`get_document`'s answer as a QueueItem. The item is validated (one kind's schema, not
    the union's); the row around it was validated when it was written, so it is assembled as
    it is: building QueueItem's own validator would cost `show --json` a third of its time."""
    from reviewer.models import (
        STORED,
        ActionItem,
        Decision,
        FlagSummary,
        OutputItem,
        QueueItem,
        Suggestion,
    )

    kind = OutputItem if doc["kind"] == "output" else ActionItem
    fields = {k: doc[k] for k in FIELDS}  # (the audit trail is not part of QueueItem)
    for k in ("created_at", "enqueued_at", "expires_at", "lease_expires_at", "decided_at"):
        fields[k] = _time(fields[k])
    fields["flags"] = [FlagSummary(**f) for f in doc["flags"]]
    return QueueItem.model_construct(**fields, item=kind.model_validate(doc["item"]),
                                     decisions=[Decision.model_validate(d | {"decided_at": _time(d["decided_at"])})
                                                for d in doc["decisions"]],
                                     suggestions=[Suggestion.model_validate(x, context=STORED)
                                                  for x in doc.get("suggestions", [])])
