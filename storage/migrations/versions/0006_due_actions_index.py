"""partial indexes: open actions by deadline (the head of the triage order), and claims by
lease expiry (the lease sweep); statistics for the planner

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the same words as storage.schema.OPEN_ACTION_SQL and CLAIMED_SQL (a migration keeps its copy)
WHERE = "kind = 'action' AND status IN ('pending', 'claimed')"
CLAIMED = "status = 'claimed'"


def upgrade() -> None:
    op.create_index("ix_items_due", "items", ["expires_at", "priority", "created_at", "seq"],
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
    op.create_index("ix_items_claimed", "items", ["lease_expires_at"],
                    sqlite_where=sa.text(CLAIMED), postgresql_where=sa.text(CLAIMED))
    # statistics for the planner, so that it picks these indexes (SqlQueue refreshes them as
    # the queue grows; PostgreSQL's autovacuum keeps its own)
    op.execute("ANALYZE items")


def downgrade() -> None:
    op.drop_index("ix_items_claimed", "items")
    op.drop_index("ix_items_due", "items")
