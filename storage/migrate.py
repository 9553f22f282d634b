"""Alembic migrations, applied when a queue is opened and by `reviewer db upgrade`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from .schema import HEAD

SCRIPTS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7263002  # PostgreSQL advisory lock key held while migrating


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, *, force: bool = False) -> tuple[str | None, str]:
    """Bring the schema to head; returns (from, to). Skips alembic when already current."""
    before = current_revision(engine)
    if before == HEAD and not force:
        return before, HEAD
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    # One transaction for every step, begun before Alembic sees the connection (so Alembic,
    # which commits after each step on SQLite, leaves it alone), holding the write lock
    # (SQLite) or an advisory lock (PostgreSQL) from the start: processes that open a new
    # queue at the same moment take turns, and the later ones find it current.
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return before, current_revision(engine) or HEAD
