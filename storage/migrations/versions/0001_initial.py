"""initial schema: items, decisions, audit, cursors

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _seq() -> sa.Column:
    return sa.Column("seq", Seq, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "items",
        _seq(),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("queue", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("risk", sa.Text),
        sa.Column("tool", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("flag_reasons", sa.Text, nullable=False),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("snippet", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("enqueued_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("on_timeout", sa.Text),
        sa.Column("claimed_by", sa.Text),
        sa.Column("lease_token", sa.Text),
        sa.Column("lease_expires_at", sa.DateTime),
        sa.Column("verdict", sa.Text),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("decided_by", sa.Text),
        sa.Column("approvals", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_items_order", "items", ["status", "priority", "created_at", "seq"])
    op.create_index("ix_items_queue", "items", ["queue", "status"])
    op.create_index("ix_items_expires", "items", ["expires_at"])
    op.create_table(
        "decisions",
        _seq(),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("item_id", sa.Text, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("correction", sa.Text),
        sa.Column("arguments", sa.Text),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("reverts", sa.Text),
        sa.Column("origin", sa.Text),
        sa.Column("content_hash", sa.Text, nullable=False),
    )
    op.create_index("ix_decisions_item", "decisions", ["item_id", "seq"])
    op.create_table(
        "audit",
        _seq(),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("origin", sa.Text),
    )
    op.create_index("ix_audit_item", "audit", ["item_id", "seq"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for name in ("cursors", "audit", "decisions", "items"):
        op.drop_table(name)
