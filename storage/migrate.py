"""Alembic migrations, applied when a queue is opened and by `reviewer db upgrade`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from .schema import HEAD

SCRIPTS = Path(__file__).parent / "migrations"


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
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    return before, current_revision(engine) or HEAD
