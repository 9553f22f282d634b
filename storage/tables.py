"""SQLModel tables. Times are stored as naive UTC; `storage.convert` makes them aware again.

`tags` and `flag_reasons` are stored newline-delimited with a leading and trailing newline
(`"\\neu\\nnumbers\\n"`), so one `LIKE '%\\ntag\\n%'` filters them on SQLite and PostgreSQL
alike without a join table on the bulk-ingest path. Labels cannot contain control characters
(the wire models refuse them), so the delimiter is unambiguous.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, Table, Text, text
from sqlmodel import Field, SQLModel

from .schema import CLAIMED_SQL, OPEN_ACTION_SQL

# BIGINT on PostgreSQL, but INTEGER PRIMARY KEY (the rowid) on SQLite.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_order", "status", "priority", "created_at", "seq"),
        Index("ix_items_priority", "priority", "created_at", "seq"),
        Index("ix_items_kind", "kind", "status", "expires_at"),
        Index("ix_items_queue", "queue", "status"),
        Index("ix_items_expires", "expires_at"),
        Index("ix_items_decided", "status", "decided_at"),
        Index("ix_items_due", "expires_at", "priority", "created_at", "seq",
              sqlite_where=text(OPEN_ACTION_SQL), postgresql_where=text(OPEN_ACTION_SQL)),
        Index("ix_items_claimed", "lease_expires_at",
              sqlite_where=text(CLAIMED_SQL), postgresql_where=text(CLAIMED_SQL)),
    )

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    queue: str = Field(sa_column=Column(Text, nullable=False))
    priority: int = Field(default=2, nullable=False)
    status: str = Field(default="pending", sa_column=Column(Text, nullable=False))
    risk: str | None = Field(default=None, sa_column=Column(Text))
    tool: str | None = Field(default=None, sa_column=Column(Text))
    tags: str = Field(default="\n", sa_column=Column(Text, nullable=False))
    flag_reasons: str = Field(default="\n", sa_column=Column(Text, nullable=False))
    flags: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    snippet: str = Field(default="", sa_column=Column(Text, nullable=False))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    enqueued_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    on_timeout: str | None = Field(default=None, sa_column=Column(Text))
    claimed_by: str | None = Field(default=None, sa_column=Column(Text))
    lease_token: str | None = Field(default=None, sa_column=Column(Text))
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    verdict: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    decided_by: str | None = Field(default=None, sa_column=Column(Text))
    approvals: int = Field(default=0, nullable=False)
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    # the decision a gate took and its agent acted on: final, no undo changes it
    final_decision: str | None = Field(default=None, sa_column=Column(Text))


class DecisionRow(SQLModel, table=True):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_item", "item_id", "seq"), Index("ix_decisions_batch", "batch"),
                      Index("ix_decisions_chain", "chain_pos", unique=True))

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    item_id: str = Field(sa_column=Column(Text, ForeignKey("items.id"), nullable=False))
    verdict: str = Field(sa_column=Column(Text, nullable=False))
    reviewer: str = Field(sa_column=Column(Text, nullable=False))
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text))
    correction: str | None = Field(default=None, sa_column=Column(Text))
    arguments: str | None = Field(default=None, sa_column=Column(Text))
    scores: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    duration_ms: int | None = None
    decided_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    reverts: str | None = Field(default=None, sa_column=Column(Text))
    origin: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    by_kind: str = Field(default="human", sa_column=Column(Text, nullable=False, server_default="human"))
    batch: str | None = Field(default=None, sa_column=Column(Text))
    chain_pos: int | None = Field(default=None, sa_column=Column(BigInteger))
    chain_prev: str | None = Field(default=None, sa_column=Column(Text))
    chain_hash: str | None = Field(default=None, sa_column=Column(Text))


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_item", "item_id", "seq"), Index("ix_audit_action", "action"),
                      Index("ix_audit_chain", "chain_pos", unique=True))

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    item_id: str | None = Field(default=None, sa_column=Column(Text))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    origin: str | None = Field(default=None, sa_column=Column(Text))
    chain_pos: int | None = Field(default=None, sa_column=Column(BigInteger))
    chain_prev: str | None = Field(default=None, sa_column=Column(Text))
    chain_hash: str | None = Field(default=None, sa_column=Column(Text))


class ChainHeadRow(SQLModel, table=True):
    """The audit chain's head: the last position and link (see `storage.chain`); one row."""

    __tablename__ = "chain_head"
    id: int = Field(sa_column=Column(Integer, primary_key=True))
    pos: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(Text, nullable=False))


class SuggestionRow(SQLModel, table=True):
    """A judge's suggestion for an item (`reviewer.models.Suggestion` as JSON), one per item,
    model and prompt version: asking again replaces it."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_key", "item_id", "model", "prompt_version", unique=True),)

    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    item_id: str = Field(sa_column=Column(Text, ForeignKey("items.id"), nullable=False))
    model: str = Field(sa_column=Column(Text, nullable=False))
    prompt_version: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class CursorRow(SQLModel, table=True):
    """Named export cursors: the last decision seq an exporter has written."""

    __tablename__ = "cursors"
    name: str = Field(sa_column=Column(Text, primary_key=True))
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class QueueSettingsRow(SQLModel, table=True):
    """A queue's own rules (`reviewer.models.QueueSettings` as JSON); a queue without a row
    has the defaults."""

    __tablename__ = "queue_settings"
    queue: str = Field(sa_column=Column(Text, primary_key=True))
    settings: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    updated_by: str = Field(sa_column=Column(Text, nullable=False))


class TokenRow(SQLModel, table=True):
    """A gateway API token: its name (the identity of every request made with it), role and
    queues. Only a SHA-256 of the secret is kept."""

    __tablename__ = "tokens"
    id: str = Field(sa_column=Column(Text, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    queues: str | None = Field(default=None, sa_column=Column(Text))
    hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime))


items: Table = ItemRow.__table__  # type: ignore[attr-defined]
decisions: Table = DecisionRow.__table__  # type: ignore[attr-defined]
audit: Table = AuditRow.__table__  # type: ignore[attr-defined]
cursors: Table = CursorRow.__table__  # type: ignore[attr-defined]
queue_settings: Table = QueueSettingsRow.__table__  # type: ignore[attr-defined]
tokens: Table = TokenRow.__table__  # type: ignore[attr-defined]
suggestions: Table = SuggestionRow.__table__  # type: ignore[attr-defined]
chain_head: Table = ChainHeadRow.__table__  # type: ignore[attr-defined]
