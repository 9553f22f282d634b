"""Shared fixtures: a fresh queue on SQLite and (when reachable, always in CI) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reviewer.queue import ReviewQueue
from reviewer.storage import SqlQueue

# Tests never reach a network: litellm reads its model cost map from the copy it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PG_BASE = os.environ.get("REVIEWER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The same database as psycopg's own URL (without SQLAlchemy's driver name).
PG_DSN = PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1)
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# The shared samples beside the checkout; the copy shipped in the package when run elsewhere.
SHARED_DATA = _SHARED if _SHARED.is_dir() else Path(__file__).resolve().parents[1] / "reviewer" / "samples"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True
    except Exception:
        return False


PG_OK = _pg_available()


def require_pg() -> None:
    if not PG_OK:
        if IN_CI:
            pytest.fail("PostgreSQL must be reachable at REVIEWER_TEST_PG in CI")
        pytest.skip("PostgreSQL is not reachable at REVIEWER_TEST_PG (default: 127.0.0.1:5432, database test)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_pg()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return request.getfixturevalue("pg_url")


class FakeClock:
    """A UTC clock that moves only when told: leases, deadlines and expiry without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@contextmanager
def _sql_queue(db_url: str, clock: FakeClock) -> Iterator[ReviewQueue]:
    q = SqlQueue.open(db_url, clock=clock)
    try:
        yield q
    finally:
        q.close()


@contextmanager
def _http_queue(db_url: str, clock: FakeClock) -> Iterator[ReviewQueue]:
    """The gateway's client, against a real uvicorn in dev mode (names taken as sent) over a
    SqlQueue on the same fake clock; tokens and roles have their own tests."""
    from reviewer.client import HttpQueue

    from gateway import serve

    backing = SqlQueue.open(db_url, clock=clock)
    with serve(backing, dev=True, sweep_s=0) as url:
        q = HttpQueue(url)
        try:
            yield q
        finally:
            q.close()
    backing.close()


# Every ReviewQueue implementation the contract suite runs against, as a context manager over a
# database URL and the fake clock.
IMPLEMENTATIONS = {"sql": _sql_queue, "http": _http_queue}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def queue(request: pytest.FixtureRequest, db_url: str, clock: FakeClock) -> Iterator[ReviewQueue]:
    """The queue under contract (each implementation, on SQLite and PostgreSQL), on a fake clock.
    Contract tests use the ReviewQueue protocol only."""
    with IMPLEMENTATIONS[request.param](db_url, clock) as q:
        yield q


@pytest.fixture
def squeue(sqlite_url: str) -> Iterator[SqlQueue]:
    """A SQLite-only queue."""
    q = SqlQueue.open(sqlite_url)
    yield q
    q.close()
