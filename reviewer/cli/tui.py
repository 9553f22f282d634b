"""The triage app: `reviewer` (or `reviewer tui`) and `reviewer demo`."""

from __future__ import annotations

import sys

import click

from .base import Ctx, cli, pass_ctx, say


def _run_app(url: str, reviewer: str | None = None, sign_in: bool = False) -> None:
    import os

    from reviewer.screens import make_app
    from reviewer.storage.peek import peek

    from ..config import open_queue

    # A browser session of `reviewer web` ends with its server, even one killed outright:
    # left running, it would keep renewing the lease on the item it shows.
    parent = os.getppid() if "web_driver" in os.environ.get("TEXTUAL_DRIVER", "") else None
    if sign_in:  # a browser session of `reviewer web`: its reviewer signs in with their token
        make_app(lambda: open_queue(url), sign_in=url, parent=parent).run()
        return
    make_app(lambda: open_queue(url), reviewer=reviewer, peek=lambda: peek(url), parent=parent).run()


@cli.command()
@click.option("--sign-in", is_flag=True, hidden=True, help="Ask for a gateway token first (reviewer web).")
@pass_ctx
def tui(c: Ctx, sign_in: bool) -> None:
    """Open the triage app on the queue (the default command)."""
    from ..config import is_gateway

    if sign_in:
        _run_app(c.url, sign_in=True)
        return
    # through a gateway you are who your token says (one request before the app starts)
    _run_app(c.url, c.reviewer() if is_gateway(c.url) else None)


def web_command(url: str, gateway: bool, host: str) -> str:
    """The command each browser session runs, or UsageError: a local queue has no sign-in,
    so it is served on loopback only."""
    import shlex

    from .gateway import is_loopback

    if not gateway and not is_loopback(host):
        raise click.UsageError(f"a local queue has no sign-in: serve it on loopback only, not {host}; "
                               "to serve a team, run `reviewer serve` and `reviewer web --gateway URL`")
    where = ["--gateway", url] if gateway else ["--db", url]
    # `exec`: the session's parent is the server itself, whose end it watches for
    return "exec " + shlex.join([sys.executable, "-m", "reviewer", *where, "tui", *(["--sign-in"] if gateway else [])])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True)
@click.option("--public-url", help="The URL browsers reach it at, behind a reverse proxy (https://review.example.com).")
@pass_ctx
def web(c: Ctx, host: str, port: int, public_url: str | None) -> None:
    """Serve the triage app to browsers (the same app, through textual-serve; the web extra).

    \b
      reviewer web --gateway https://gw.example.com        # each session signs in with its token
      reviewer web                                          # your local queue, on loopback only

    Against a gateway, every browser session asks for its reviewer's own token and acts as
    that reviewer: the server holds no token of its own (REVIEWER_TOKEN is not passed on).
    It listens on loopback; put it behind your TLS reverse proxy (README, "The app in a
    browser") and give that proxy's address as --public-url.
    """
    import os

    from ..config import is_gateway

    command = web_command(c.url, is_gateway(c.url), host)
    try:
        from textual_serve.server import Server
    except ImportError:
        raise click.UsageError("reviewer web needs textual-serve: pip install 'reviewer[web]'") from None
    os.environ.pop("REVIEWER_TOKEN", None)  # sessions sign in; they never inherit one identity
    say(f"serving the app at {public_url or f'http://{host}:{port}'}", err=True)
    Server(command, host=host, port=port, title="reviewer", public_url=public_url).serve()


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

    from ..config import demo_db_path
    from ..demo import build_demo

    target = Path(path) if path else demo_db_path()
    with click.progressbar(length=items, label="building demo queue", file=sys.stderr) as bar:
        build_demo(target, items, seed=seed, progress=bar.update)
    say(f"demo queue: {target} ({items} items)", err=True)
    if not no_open:
        _run_app(f"sqlite:///{target}")
