"""`reviewer serve` (the team gateway) and `reviewer token` (its API tokens)."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .base import Ctx, cli, local_db, pass_ctx, say, say_json

if TYPE_CHECKING:
    from reviewer.client import RemoteTokens
    from reviewer.storage.tokens import Tokens


def tls_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--ssl-certfile, --ssl-keyfile and --allow-plain-http: `serve` and `web` take the same."""
    for option in reversed((
        click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM)."),
        click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM)."),
        click.option("--allow-plain-http", is_flag=True,
                     help="Bind a non-loopback address without TLS (behind a TLS-terminating proxy only)."),
    )):
        command = option(command)
    return command


def require_tls(host: str, certfile: str | None, keyfile: str | None, allow_plain_http: bool) -> bool:
    """Whether to serve TLS; refuses a non-loopback address in plain HTTP unless told a TLS
    proxy terminates it (tokens and items would cross the network in clear)."""
    from ..errors import Invalid

    if bool(certfile) != bool(keyfile):
        raise click.UsageError("TLS needs both --ssl-certfile and --ssl-keyfile")
    tls = bool(certfile and keyfile)
    if not is_loopback(host) and not tls and not allow_plain_http:
        raise Invalid(f"refusing to serve {host} without TLS: tokens would cross the network in clear",
                      hint="give --ssl-certfile and --ssl-keyfile, or --allow-plain-http behind a TLS proxy")
    return tls


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (they share the database and wake each other).")
@click.option("--policy", type=click.Path(exists=True, dir_okay=False),
              help="Policy file applied to every action the gateway receives [env REVIEWER_POLICY].")
@tls_options
@click.option("--dev", is_flag=True, help="No tokens, names taken as sent: loopback only, for trying it out.")
@pass_ctx
def serve(c: Ctx, host: str, port: int, workers: int, policy: str | None, ssl_certfile: str | None,
          ssl_keyfile: str | None, allow_plain_http: bool, dev: bool) -> None:
    """Serve the queue to a team over HTTP: reviewers' TUIs, the CLI and agents' gates.

    \b
    Every request needs a token (reviewer token create); the server enforces roles, queue
    rules and its policy, and sweeps leases and deadlines. The API is under /v1, its schema
    at /openapi.json and /docs; /healthz and /readyz for probes.
      reviewer --db postgresql+psycopg://rev@db/reviews serve --host 0.0.0.0 \\
          --ssl-certfile cert.pem --ssl-keyfile key.pem
    """
    from ..errors import Invalid

    url = local_db(c)
    if dev and not is_loopback(host):
        raise Invalid(f"--dev serves without tokens: it binds loopback only, not {host}",
                      hint="drop --dev and create tokens with reviewer token create")
    tls = require_tls(host, ssl_certfile, ssl_keyfile, allow_plain_http)
    import uvicorn

    from ..server import main

    os.environ[main.DB] = url
    os.environ[main.DEV] = "1" if dev else "0"
    chosen = policy or os.environ.get("REVIEWER_POLICY")
    if chosen:
        os.environ[main.POLICY] = chosen
    main.app()  # opens (and migrates) the database now: errors are one line, not a worker's traceback
    scheme = "https" if tls else "http"
    say(f"reviewer gateway on {scheme}://{host}:{port} ({'dev mode: no tokens' if dev else 'tokens required'})",
        err=True)
    uvicorn.run("reviewer.server.main:app", factory=True, host=host, port=port, workers=workers,
                ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level="info",
                server_header=False, proxy_headers=False, **main.server_options())


@cli.group()
def token() -> None:
    """The gateway's API tokens: on its database (--db), or through it with an admin token.

    \b
    A token's name is the identity of every request made with it.
      reviewer token create --name alice --role reviewer --queues finchat-summaries,payments
      reviewer token create --name refund-agent --role agent
      reviewer token list
      reviewer token revoke alice
    """


def _tokens(c: Ctx) -> Tokens | RemoteTokens:
    """The tokens in the database (on the gateway's host), or through the gateway (an admin
    token)."""
    from ..config import is_gateway

    if is_gateway(c.url):
        from ..client import HttpQueue

        assert isinstance(c.queue, HttpQueue)
        return c.queue.tokens
    from reviewer.storage import SqlQueue
    from reviewer.storage.tokens import Tokens

    return Tokens(SqlQueue.open(c.url).engine)


@token.command("create")
@click.option("--name", required=True, help="Who the token is: a reviewer's or an agent's name.")
@click.option("--role", required=True, type=click.Choice(["reviewer", "agent", "admin"]),
              help="reviewer: read, claim, decide; agent: submit and wait; admin: everything.")
@click.option("--queues", metavar="A,B", help="Limit the token to these queues [default: all].")
@pass_ctx
def create(c: Ctx, name: str, role: str, queues: str | None) -> None:
    """Create a token and print it once (only its hash is kept)."""
    chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    secret, token_id = _tokens(c).create(name, role, chosen)
    say(f"token {token_id} for {name} ({role}{', queues ' + ','.join(chosen) if chosen else ''}):", err=True)
    click.echo(secret)
    say("it is shown only now: give it to its owner as REVIEWER_TOKEN", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON (never their secrets).")
@pass_ctx
def list_(c: Ctx, as_json: bool) -> None:
    """The tokens: id, name, role, queues, created, revoked."""
    rows = _tokens(c).list()
    if as_json:
        say_json(json.dumps(rows, default=str))
        return
    if not rows:
        say("no tokens yet: reviewer token create --name NAME --role reviewer|agent|admin")
        return
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "live"
        queues = ",".join(r["queues"]) if r["queues"] else "all queues"
        say(f"{r['id']}  {r['name']:<20} {r['role']:<8} {queues:<24} {state}")


@token.command("revoke")
@click.argument("id_or_name")
@pass_ctx
def revoke(c: Ctx, id_or_name: str) -> None:
    """Revoke a token by id, or every live token of a name; it stops working at once."""
    n = _tokens(c).revoke(id_or_name)
    say(f"revoked {n} token{'s' if n != 1 else ''}")
