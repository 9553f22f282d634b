"""Wake a waiting agent the moment its item is settled, without polling.

SQLite: the waiter binds a Unix datagram socket whose name is derived from the database file
and the item id, in a private per-user directory; the writer, after committing a decision on
that item, sends it one byte. PostgreSQL: the writer runs `pg_notify` on a channel named
after the item inside the decision's transaction (delivered on commit), and the waiter
LISTENs on it. Either way the waiter re-reads the item after a wake, and once a second
regardless, so a lost wake-up costs at most that second.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

FALLBACK_S = 1.0


class Waiter(Protocol):
    def wait(self, timeout_s: float) -> None:
        """Return when woken, or after `timeout_s`."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _socket_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"reviewer-{uid}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def socket_path(db_file: str, item_id: str) -> Path:
    return _socket_dir() / f"{_digest(os.path.realpath(db_file), item_id)}.sock"


class _Sleep:
    """No wake-up channel (another waiter holds it, or no Unix sockets): plain sleeps."""

    def wait(self, timeout_s: float) -> None:
        import time

        time.sleep(timeout_s)


class _Datagram:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def wait(self, timeout_s: float) -> None:
        self.sock.settimeout(max(timeout_s, 0.0))
        with contextlib.suppress(TimeoutError, OSError):
            self.sock.recv(64)


@contextlib.contextmanager
def sqlite_waiter(db_file: str, item_id: str) -> Iterator[Waiter]:
    if not hasattr(socket, "AF_UNIX"):
        yield _Sleep()
        return
    path = socket_path(db_file, item_id)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind(str(path))
        except OSError:
            if _alive(path):  # another waiter on the same item: share its fate by sleeping
                yield _Sleep()
                return
            path.unlink(missing_ok=True)  # left by a killed process
            sock.bind(str(path))
        try:
            yield _Datagram(sock)
        finally:
            path.unlink(missing_ok=True)
    finally:
        sock.close()


def _alive(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def wake_sqlite(db_file: str, item_ids: list[str]) -> None:
    """Wake whoever waits on `item_ids` (after the commit that settled them)."""
    if not hasattr(socket, "AF_UNIX") or not item_ids:
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        for item_id in item_ids:
            with contextlib.suppress(OSError):  # nobody waits: no socket, or a stale one
                sock.sendto(b"1", str(socket_path(db_file, item_id)))
    finally:
        sock.close()


def pg_channel(item_id: str) -> str:
    return f"rv_{_digest(item_id)}"


class _Listen:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def wait(self, timeout_s: float) -> None:
        for _ in self.conn.notifies(timeout=max(timeout_s, 0.0), stop_after=1):
            return


@contextlib.contextmanager
def pg_waiter(raw: Any, item_id: str) -> Iterator[Waiter]:
    """LISTEN on the item's channel on `raw`, a pooled psycopg connection (returned after)."""
    conn = raw.driver_connection
    conn.autocommit = True
    try:
        conn.execute(f"LISTEN {pg_channel(item_id)}")
        yield _Listen(conn)
    finally:
        with contextlib.suppress(Exception):
            conn.execute("UNLISTEN *")
            conn.autocommit = False
        raw.close()
