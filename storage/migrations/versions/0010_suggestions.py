"""judges' suggestions: one per item, model and prompt version, never a decision

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Text, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_suggestions_key", "suggestions", ["item_id", "model", "prompt_version"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_suggestions_key", "suggestions")
    op.drop_table("suggestions")
