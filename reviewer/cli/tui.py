"""The triage app: `reviewer` (or `reviewer tui`) and `reviewer demo`."""

from __future__ import annotations

import sys

import click

from .base import Ctx, cli, pass_ctx, say
from .gateway import require_tls, tls_options


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
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--public-url", help="The URL browsers reach it at, behind a reverse proxy (https://review.example.com).")
@click.option("--gateway", "gateway_url", metavar="URL", help="Serve a gateway's queue (as reviewer --gateway URL web).")
@tls_options
@pass_ctx
def web(c: Ctx, host: str, port: int, public_url: str | None, gateway_url: str | None,
        ssl_certfile: str | None, ssl_keyfile: str | None, allow_plain_http: bool) -> None:
    """Serve the triage app to browsers (the same app, through textual-serve; the web extra).

    \b
      reviewer web                                          # your local queue, on loopback only
      reviewer web --gateway https://gw.example.com        # each session signs in with its token

    On a local queue it prints a link with a secret for this run (open it once; the secret
    then lives in a cookie of that browser): nothing without it, and no page of another
    origin, can reach the app. Against a gateway, every browser session asks for its
    reviewer's own token and acts as that reviewer: the server holds no token of its own
    (REVIEWER_TOKEN is not passed on). Beyond loopback it needs TLS (--ssl-certfile and
    --ssl-keyfile), or --allow-plain-http behind your TLS reverse proxy, whose address is
    --public-url.
    """
    import os

    from ..config import is_gateway

    if gateway_url:
        c.gateway = gateway_url
    gateway = is_gateway(c.url)
    command = web_command(c.url, gateway, host)
    tls = require_tls(host, ssl_certfile, ssl_keyfile, allow_plain_http)
    from ..web_guard import GuardedServer
    context = None
    if tls:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(ssl_certfile), str(ssl_keyfile))
    os.environ.pop("REVIEWER_TOKEN", None)  # sessions sign in; they never inherit one identity
    server = GuardedServer(command, host=host, port=port, public_url=public_url, ssl_context=context,
                           secret=None if gateway else GuardedServer.new_secret())
    if gateway:
        say(f"serving the app at {server.link()} (each session signs in with its own token)", err=True)
    else:  # printed once, here only: it is what lets a browser in
        say(f"serving your local queue to this machine's browser; open it with this link "
            f"(it holds this run's secret, keep it to yourself):\n  {server.link()}", err=True)
    server.serve()


@cli.command()
@click.option("--items", default=400, show_default=True, help="How many items to generate.")
@click.option("--path", type=click.Path(dir_okay=False), help="Demo database file "
              "[default: demo.db in your user data dir]; recreated on every run (a demo queue only).")
@click.option("--seed", default=7, show_default=True, help="Random seed of the generator.")
@click.option("--no-open", is_flag=True, help="Only build the demo database.")
@click.option("--clean", is_flag=True, help="Remove the demo database (and build nothing).")
def demo(items: int, path: str | None, seed: int, no_open: bool, clean: bool) -> None:
    """Build a realistic demo queue (never your real one) and open the app on it.

    It holds the shipped samples (flagged outputs across finance, support, RAG, code and
    translation; pending refunds, SQL, shell, email and payment actions) plus generated items
    with multi-turn conversations, retrieved documents and references.
    """
    from pathlib import Path

    from ..config import demo_db_path
    from ..demo import build_demo, demo_steps, human_size, remove_demo

    target = Path(path) if path else demo_db_path()
    if clean:
        size = remove_demo(target)
        say(f"no demo queue at {target}" if size is None else f"removed {target} ({human_size(size)})", err=True)
        return
    with click.progressbar(length=demo_steps(items), label="building demo queue", file=sys.stderr,
                           item_show_func=lambda phase: phase) as bar:
        built = build_demo(target, items, seed=seed, progress=bar.update)
    say(built.describe(), err=True)
    if not no_open:
        _run_app(f"sqlite:///{target}")
