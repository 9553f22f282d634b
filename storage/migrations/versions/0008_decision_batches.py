"""decisions remember the bulk decision they were part of, so one undo reverts the batch

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("batch", sa.Text, nullable=True))
    op.create_index("ix_decisions_batch", "decisions", ["batch"])


def downgrade() -> None:
    op.drop_index("ix_decisions_batch", "decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("batch")
