"""Persistence: SQLModel tables, engines, migrations and `SqlQueue`."""

from .sql_queue import SqlQueue

__all__ = ["SqlQueue"]
