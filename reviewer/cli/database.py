"""`reviewer db`: schema maintenance."""

from __future__ import annotations

from .base import Ctx, cli, local_db, pass_ctx, say


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_ctx
def upgrade(c: Ctx) -> None:
    """Apply schema migrations (done automatically on open; this makes it explicit)."""
    from reviewer.storage import migrate
    from reviewer.storage.engine import make_engine

    engine = make_engine(local_db(c))
    try:
        before, after = migrate.upgrade(engine, force=True)
    finally:
        engine.dispose()
    say(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
