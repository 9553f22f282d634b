"""full-text search index over items: FTS5 on SQLite, a GIN tsvector index on PostgreSQL

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External content: the text lives once, in items; the index holds only postings.
        op.execute("CREATE VIRTUAL TABLE items_fts USING fts5(text, content='', "
                   "tokenize='unicode61 remove_diacritics 2', prefix='2 3')")
        op.execute("CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab(items_fts, 'row')")
        op.execute("INSERT INTO items_fts(rowid, text) SELECT seq, id || ' ' || search_text FROM items")
    else:
        op.execute("CREATE INDEX ix_items_fts ON items USING gin "
                   "(to_tsvector('simple', id || ' ' || search_text))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE items_fts_vocab")
        op.execute("DROP TABLE items_fts")
    else:
        op.execute("DROP INDEX ix_items_fts")
