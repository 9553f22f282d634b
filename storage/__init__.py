"""Persistence: SQLModel tables, engines, migrations and `SqlQueue`.

`SqlQueue` is loaded on first access (PEP 562), so `storage.peek` can read a SQLite queue
before SQLAlchemy is imported.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SqlQueue"]


def __getattr__(name: str) -> Any:
    if name == "SqlQueue":
        from .sql_queue import SqlQueue

        return SqlQueue
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
