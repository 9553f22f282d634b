"""Conversion between wire models and table rows.

Rows read back are built without validating again what was validated on the way in
(`model_construct`): the summary columns are typed by the schema and written only from
validated models, and a stored decision was a validated DecisionIn. An item's payload is
still parsed by its model (`parse_item(..., stored=True)`, the size limits skipped), so a
payload edited outside the product is caught where it is read. Exports and the list read
thousands of rows: validating each twice cost more than reading it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from reviewer.models import (
    ActionItem,
    Decision,
    DecisionIn,
    FlagSummary,
    ItemSummary,
    OutputItem,
    QueueItem,
    Suggestion,
    parse_item,
)

SNIPPET_CHARS = 240
SEARCH_CHARS = 2000


def naive(dt: datetime | None) -> datetime | None:
    """Aware -> naive UTC, for storage."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def aware(dt: datetime | None) -> datetime | None:
    """Naive UTC from storage -> aware."""
    if dt is None:
        return None
    if isinstance(dt, str):  # raw sqlite3 reads
        dt = datetime.fromisoformat(dt)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def item_payload(item: OutputItem | ActionItem) -> str:
    """Canonical JSON of an item, defaults dropped, so equal content hashes equal.

    Model fields come out in a fixed order; keys inside free objects (`arguments`, `metadata`)
    keep the submitter's order, which is part of the content.
    """
    return item.model_dump_json(exclude_defaults=True)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def delimited(labels: list[str]) -> str:
    """`["a", "b"]` -> `"\\na\\nb\\n"` (see storage.tables)."""
    return "\n" + "".join(f"{x}\n" for x in labels)


def undelimited(text: str) -> list[str]:
    inner = text.strip("\n")
    return inner.split("\n") if inner else []


def _one_line(text: str, limit: int) -> str:
    return " ".join(text[: limit * 2].replace("\x00", " ").split())[:limit]


def item_snippet(item: OutputItem | ActionItem) -> str:
    if isinstance(item, OutputItem):
        return _one_line(item.output, SNIPPET_CHARS)
    args = json.dumps(item.action.arguments, ensure_ascii=False)
    return _one_line(f"{item.action.tool} {args}", SNIPPET_CHARS)


def item_body(item: OutputItem | ActionItem) -> str:
    """What an item says: its output, or its tool call with the arguments."""
    if isinstance(item, OutputItem):
        return item.output[:SEARCH_CHARS]
    return f"{item.action.tool} {json.dumps(item.action.arguments, ensure_ascii=False, sort_keys=True)[:SEARCH_CHARS]}"


def item_search_text(item: OutputItem | ActionItem) -> str:
    """What fuzzy search looks at: output (or tool call), last user message, tags, reasons."""
    body = item_body(item)
    if not isinstance(item, OutputItem):
        body += f" {item.action.rationale or ''}"
    parts = [body, item.last_user_message()[:500], " ".join(item.tags)]
    parts.extend(f.reason for f in item.flags)
    return " ".join(" ".join(parts).replace("\x00", " ").split())


def sqlite_value(v: Any) -> Any:
    """A value as SQLAlchemy's SQLite dialect stores it (datetimes as ISO text)."""
    return v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v


def item_row(
    item: OutputItem | ActionItem, item_id: str, now: datetime, payload: str | None = None,
    digest: str | None = None,
) -> dict[str, Any]:
    """The `items` row for a newly enqueued item."""
    payload = payload if payload is not None else item_payload(item)
    created = item.created_at or now
    action = item if isinstance(item, ActionItem) else None
    expires = None
    if action is not None:
        if action.expires_at is not None:
            expires = action.expires_at
        elif action.timeout_s is not None:
            # The reviewer's clock starts when the queue receives the action, not at created_at.
            expires = now + timedelta(seconds=action.timeout_s)
    return {
        "id": item_id,
        "kind": item.kind,
        "queue": item.queue,
        "priority": item.priority,
        "status": "pending",
        "risk": action.risk if action else None,
        "tool": action.action.tool if action else None,
        "tags": delimited(item.tags),
        "flag_reasons": delimited([f.reason for f in item.flags]),
        "flags": dumps([{"reason": f.reason, "score": f.score} for f in item.flags]),
        "snippet": item_snippet(item),
        "search_text": item_search_text(item),
        "payload": payload,
        "content_hash": digest or sha256(payload),
        "created_at": naive(created),
        "enqueued_at": naive(now),
        "expires_at": naive(expires),
        "on_timeout": action.on_timeout if action else None,
        "claimed_by": None,
        "lease_token": None,
        "lease_expires_at": None,
        "verdict": None,
        "decided_at": None,
        "decided_by": None,
        "approvals": 0,
        "updated_at": naive(now),
    }


SUMMARY_FIELDS = (
    "id", "kind", "queue", "priority", "status", "risk", "tool", "tags", "flags", "snippet",
    "created_at", "enqueued_at", "expires_at", "claimed_by", "lease_expires_at", "verdict",
    "decided_at", "decided_by", "approvals",
)  # fmt: skip


def summary_kwargs(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "kind": m["kind"],
        "queue": m["queue"],
        "priority": m["priority"],
        "status": m["status"],
        "risk": m["risk"],
        "tool": m["tool"],
        "tags": undelimited(m["tags"]),
        "flags": [FlagSummary.model_construct(**f) for f in json.loads(m["flags"])],
        "snippet": m["snippet"],
        "created_at": aware(m["created_at"]),
        "enqueued_at": aware(m["enqueued_at"]),
        "expires_at": aware(m["expires_at"]),
        "claimed_by": m["claimed_by"],
        "lease_expires_at": aware(m["lease_expires_at"]),
        "verdict": m["verdict"],
        "decided_at": aware(m["decided_at"]),
        "decided_by": m["decided_by"],
        "approvals": m["approvals"],
    }


def summary(row: Any) -> ItemSummary:
    return ItemSummary.model_construct(**summary_kwargs(row))


def decision_hash(item_id: str, d: DecisionIn) -> str:
    return sha256(item_id + dumps(d.model_dump(mode="json", exclude={"id", "duration_ms"})))


def decision_row(
    item_id: str, d: DecisionIn, now: datetime, origin: str | None, reverts: str | None = None,
    by: str = "human", batch: str | None = None,
) -> dict[str, Any]:
    return {
        "id": d.id,
        "item_id": item_id,
        "verdict": "revert" if reverts else d.verdict,
        "reviewer": d.reviewer,
        "reasons": dumps(d.reasons),
        "comment": d.comment,
        "correction": d.correction,
        "arguments": None if d.arguments is None else dumps(d.arguments),
        "scores": dumps(d.scores),
        "duration_ms": d.duration_ms,
        "decided_at": naive(now),
        "reverts": reverts,
        "origin": origin,
        "content_hash": decision_hash(item_id, d),
        "by_kind": by,
        "batch": batch,
    }


class Row:
    """A plain dict read like a SQLAlchemy result row (`row._mapping`), for the converters."""

    def __init__(self, mapping: dict[str, Any]):
        self._mapping = mapping


def queue_item(row: Any, history: list[Decision], drafts: list[Suggestion] | None = None) -> QueueItem:
    """An item row, its decisions and its judges' suggestions as a QueueItem. The payload is
    validated (without the size limits it passed on the way in); the rest is built as it is
    read: typed columns and models already validated (see the module docstring)."""
    return QueueItem.model_construct(**summary_kwargs(row), item=parse_item(row.payload, stored=True),
                                     decisions=history, suggestions=drafts or [])


def decision(row: Any) -> Decision:
    m = row._mapping
    return Decision.model_construct(**{
        "id": m["id"],
        "item_id": m["item_id"],
        "seq": m["seq"],
        "verdict": m["verdict"],
        "reviewer": m["reviewer"],
        "reasons": json.loads(m["reasons"]),
        "comment": m["comment"],
        "correction": m["correction"],
        "arguments": None if m["arguments"] is None else json.loads(m["arguments"]),
        "scores": json.loads(m["scores"]),
        "duration_ms": m["duration_ms"],
        "decided_at": aware(m["decided_at"]),
        "reverts": m["reverts"],
        "origin": m["origin"],
        "by": m["by_kind"],
        "batch": m["batch"],
    })
