"""Facts about the schema shared with `storage.peek`, which must not import SQLAlchemy: the
revision this code reads and writes (the newest Alembic migration), and one index condition.
"""

HEAD = "0011"

OPEN_ACTION_SQL = "kind = 'action' AND status IN ('pending', 'claimed')"
CLAIMED_SQL = "status = 'claimed'"
"""Open actions, in the words of the partial index ix_items_due: a query uses that index only
when it states the condition the same way."""
