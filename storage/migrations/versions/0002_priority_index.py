"""indexes for the priority and triage list orders

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_priority", "items", ["priority", "created_at", "seq"])
    op.create_index("ix_items_kind", "items", ["kind", "status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_items_priority", "items")
    op.drop_index("ix_items_kind", "items")
