"""The triage app: `reviewer` (or `reviewer tui`) and `reviewer demo`."""

from __future__ import annotations

import sys

import click

from .base import Ctx, cli, pass_ctx, say


def _run_app(url: str, reviewer: str | None = None) -> None:
    from reviewer.screens import make_app
    from reviewer.storage.peek import peek

    from ..config import open_queue

    make_app(lambda: open_queue(url), reviewer=reviewer, peek=lambda: peek(url)).run()


@cli.command()
@pass_ctx
def tui(c: Ctx) -> None:
    """Open the triage app on the queue (the default command)."""
    from ..config import is_gateway

    # through a gateway you are who your token says (one request before the app starts)
    _run_app(c.url, c.reviewer() if is_gateway(c.url) else None)


@cli.command()
@click.option("--items", default=400, show_default=True, help="How many items to generate.")
@click.option("--path", type=click.Path(dir_okay=False), help="Demo database file "
              "[default: demo.db in your user data dir]; recreated on every run.")
@click.option("--seed", default=7, show_default=True, help="Random seed of the generator.")
@click.option("--no-open", is_flag=True, help="Only build the demo database.")
def demo(items: int, path: str | None, seed: int, no_open: bool) -> None:
    """Build a realistic demo queue (never your real one) and open the app on it.

    It holds the shipped samples (flagged outputs across finance, support, RAG, code and
    translation; pending refunds, SQL, shell, email and payment actions) plus generated items
    with multi-turn conversations, retrieved documents and references.
    """
    from pathlib import Path

    from ..config import data_dir
    from ..demo import build_demo

    target = Path(path) if path else data_dir() / "demo.db"
    with click.progressbar(length=items, label="building demo queue", file=sys.stderr) as bar:
        build_demo(target, items, seed=seed, progress=bar.update)
    say(f"demo queue: {target} ({items} items)", err=True)
    if not no_open:
        _run_app(f"sqlite:///{target}")
