"""The schema revision this code reads and writes (the newest Alembic migration).

Its own module so that `storage.peek` can check it without importing SQLAlchemy.
"""

HEAD = "0005"
