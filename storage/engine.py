"""Engines: SQLite (WAL, busy timeout, foreign keys, `BEGIN IMMEDIATE` for writes) and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from reviewer.errors import StorageError

BUSY_TIMEOUT_MS = 10_000


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine, or None."""
    return engine.url.database if is_sqlite(engine) else None


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite files get their directory created; bad URLs get a clear error."""
    try:
        parsed = make_url(url)
    except Exception as e:  # sqlalchemy.exc.ArgumentError
        raise StorageError(
            f"not a database URL: {url!r}",
            hint="use sqlite:///path/to/queue.db or postgresql+psycopg://user@host/db",
        ) from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
        except ModuleNotFoundError as e:
            from reviewer.extras import install_command

            raise StorageError(
                "PostgreSQL support is not installed", hint=install_command("postgres")
            ) from e
    raise StorageError(f"unsupported database {backend!r}", hint="use sqlite or postgresql")


def _private_file(path: Path) -> None:
    """Create the queue file (and its directory) readable by its owner only: items hold
    conversations and customer data. SQLite gives its -wal and -shm files the same mode."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as e:
        raise StorageError(f"cannot create the queue database {path}: {e.strerror}",
                           hint="check the directory exists and is writable") from None


def _wal(cur: sqlite3.Cursor) -> None:
    """Switch to WAL. On a new file that another process is switching at the same moment,
    SQLite answers BUSY at once, without its busy handler: try again until the busy timeout."""
    end = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() + pause > end:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if not database or database == ":memory:":
        raise StorageError(
            "an in-memory SQLite queue cannot be shared", hint="give a file: sqlite:///queue.db"
        )
    _private_file(Path(database).expanduser())
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        # pysqlite in autocommit mode emits no BEGIN: we choose. A deferred transaction that
        # reads then writes gets SQLITE_BUSY at once under contention; writers take the lock first.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
