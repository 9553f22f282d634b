"""decisions record who decided (human, policy or system), not just a name

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("by_kind", sa.Text, nullable=False, server_default="human"))
    # Rows written before this revision: the names were the only record, and were not
    # reserved yet; `system` and `policy:*` were written by the queue and the gate.
    op.execute("UPDATE decisions SET by_kind = 'system' WHERE reviewer = 'system'")
    op.execute("UPDATE decisions SET by_kind = 'policy' WHERE reviewer LIKE 'policy:%'")


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("by_kind")
