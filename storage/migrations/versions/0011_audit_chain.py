"""the audit chain (each decision and audit row carries the link of the one before it), and
the decision a gate took (final: no undo)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHAINED = ("decisions", "audit")


def upgrade() -> None:
    from reviewer.storage import chain

    for table in CHAINED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("chain_pos", sa.BigInteger, nullable=True))
            batch.add_column(sa.Column("chain_prev", sa.Text, nullable=True))
            batch.add_column(sa.Column("chain_hash", sa.Text, nullable=True))
        op.create_index(f"ix_{table}_chain", table, ["chain_pos"], unique=True)
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("final_decision", sa.Text, nullable=True))
    head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pos", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.bulk_insert(head, [{"id": chain.HEAD_ID, "pos": 0, "hash": chain.GENESIS}])
    chain.chain_all(op.get_bind())  # the rows written before the chain existed


def downgrade() -> None:
    op.drop_table("chain_head")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("final_decision")
    for table in CHAINED:
        op.drop_index(f"ix_{table}_chain", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("chain_hash")
            batch.drop_column("chain_prev")
            batch.drop_column("chain_pos")
