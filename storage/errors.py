"""Database errors -> `reviewer` errors, by the driver's error class and code, never by the
text of the message (which changes between versions and locales)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DataError, DBAPIError

from reviewer.errors import Invalid, ReviewerError, StorageError

LOCKED = ("the queue database is locked by another process",
          "retry in a moment; if it persists, find the process holding it")
CORRUPT = ("the queue database file is corrupt or not a reviewer database",
           "check --db / REVIEWER_DB points at the right file")
FULL = ("the disk is full; nothing was written", "free space and retry")

# SQLite primary result codes (https://sqlite.org/rescode.html)
_SQLITE = {5: LOCKED, 6: LOCKED, 11: CORRUPT, 26: CORRUPT, 13: FULL}
_SQLITE_CANTOPEN = {8, 14}  # SQLITE_READONLY, SQLITE_CANTOPEN
# PostgreSQL SQLSTATE classes and codes
_PG_LOCKED = {"55P03", "40P01", "57014"}  # lock_not_available, deadlock, query_canceled
_PG_FULL = {"53100"}  # disk_full
_PG_DATA = "22"  # data_exception (the driver raises DataError without one for NUL in text)


def storage_error(e: DBAPIError) -> ReviewerError:
    """The StorageError for a driver error wrapped by SQLAlchemy; Invalid for a value the
    database refuses (a data error: a NUL character in text, a number out of range)."""
    orig = e.orig
    first_line = (str(orig).splitlines() or [type(orig).__name__])[0]
    if isinstance(orig, sqlite3.Error):
        code = (getattr(orig, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in _SQLITE:
            return StorageError(*_SQLITE[code])
        if code in _SQLITE_CANTOPEN:
            return StorageError(f"cannot open the queue database: {first_line}",
                                hint="check the path exists and is writable")
        return StorageError(f"database error: {first_line}")
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(e, DataError) or (sqlstate or "").startswith(_PG_DATA):
        return Invalid(f"the database cannot store a value of this request: {first_line}",
                       hint="remove NUL characters (\\u0000) from its text")
    if sqlstate in _PG_LOCKED:
        return StorageError(*LOCKED)
    if sqlstate in _PG_FULL:
        return StorageError(*FULL)
    if sqlstate is None or e.connection_invalidated:  # no server answer: connection failed
        return StorageError(f"cannot reach the database: {first_line}",
                            hint="is the server running and the URL right?")
    return StorageError(f"database error: {first_line}")
