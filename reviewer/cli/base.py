"""The `reviewer` command group, its context and its one way of printing.

Exit codes: 0 ok; 1 an error (one line, with a hint); 2 bad usage; 3 not found;
4 conflict (lease held, already decided, expired, id reused); 5 storage unreachable or locked;
6 some input lines were rejected (ingest).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__

if TYPE_CHECKING:
    from ..queue import ReviewQueue

EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_STORAGE, EXIT_BAD_INPUT = 3, 4, 5, 6


def say(text: str, *, err: bool = False, fg: str | None = None) -> None:
    """Print human-readable text. Everything the CLI prints passes here or `say_json`, so
    no control character or bidi override from an item reaches the terminal."""
    from ..safe_text import safe

    if fg is None:
        click.echo(safe(text, limit=None), err=err)
    else:
        click.secho(safe(text, limit=None), err=err, fg=fg)


def say_json(text: str) -> None:
    """Print JSON for scripts: the same data, with terminal controls as `\\u` escapes."""
    from ..safe_text import safe_json

    click.echo(safe_json(text))


class ReviewerGroup(click.Group):
    """Turns ReviewerError into one line plus a hint, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import Conflict, NotFound, ReviewerError, StorageError

        try:
            return super().invoke(ctx)
        except ReviewerError as e:
            say(f"error: {e}", err=True, fg="red")
            if e.hint:
                say(f"hint: {e.hint}", err=True)
            code = 1
            if isinstance(e, NotFound):
                code = EXIT_NOT_FOUND
            elif isinstance(e, Conflict):
                code = EXIT_CONFLICT
            elif isinstance(e, StorageError):
                code = EXIT_STORAGE
            ctx.exit(code)
        except ModuleNotFoundError as e:
            from ..extras import install_command, missing_extra

            if (missing := missing_extra(e)) is None:
                raise
            module, extra = missing
            command = " ".join(["reviewer", *filter(None, [ctx.invoked_subcommand])])
            say(f"error: {command} needs the {extra} extra ({module} is not installed)", err=True, fg="red")
            say(f"hint: {install_command(extra)}", err=True)
            ctx.exit(1)


class Ctx:
    def __init__(self, db: str | None, gateway: str | None = None):
        self.db = db
        self.gateway = gateway
        self._queue: ReviewQueue | None = None

    @property
    def url(self) -> str:
        """The queue's URL: a database, or a gateway."""
        from ..config import resolve_db_url

        return resolve_db_url(self.db, self.gateway)

    def reviewer(self, given: str | None = None) -> str:
        """Who acts: the name given, else a gateway token's own name, else the local name."""
        from ..config import is_gateway, reviewer_name

        if given:
            return given
        if is_gateway(self.url):
            from ..client import HttpQueue

            assert isinstance(self.queue, HttpQueue)
            return self.queue.whoami().name
        return reviewer_name()

    @property
    def existing_queue(self) -> ReviewQueue:
        """The queue, for a command that only reads it: a SQLite file that is not there is an
        error (a typo, or the demo's queue, which is a file of its own), not a new empty queue
        that exports, lists and counts nothing."""
        from ..storage.peek import sqlite_path

        if (path := sqlite_path(self.url)) is not None and not Path(path).exists():
            from ..config import demo_db_path
            from ..errors import ReviewerError

            raise ReviewerError(f"no queue at {path}",
                                hint=f"reviewer ingest FILE creates it; the demo's queue is --db {demo_db_path()}")
        return self.queue

    @property
    def queue(self) -> ReviewQueue:
        if self._queue is None:
            from ..config import open_queue

            self._queue = open_queue(self.db, self.gateway)
            _send_saved(self._queue)
        return self._queue


def _send_saved(queue: ReviewQueue) -> None:
    """Through a gateway: first send the decisions saved while it was away, and say so."""
    outbox = getattr(queue, "outbox", None)
    if outbox is None or not outbox.saved():
        return
    from ..errors import ReviewerError

    try:
        sent, refused = queue.send_saved()  # type: ignore[attr-defined]
    except ReviewerError:
        return
    if sent:
        say(f"sent {len(sent)} decision{'s' if len(sent) != 1 else ''} saved while the gateway was away", err=True)
    for item_id, why in refused:
        say(f"warning: your saved decision on {item_id} was NOT recorded: {why}", err=True, fg="yellow")


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=ReviewerGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="REVIEWER_DB", metavar="URL",
              help="Queue database: a SQLite path/URL or postgresql+psycopg://... "
                   "[env REVIEWER_DB; default: a file in your user data dir]")
@click.option("--gateway", envvar="REVIEWER_GATEWAY", metavar="URL",
              help="A team gateway (reviewer serve) instead of a database; the token comes from "
                   "REVIEWER_TOKEN [env REVIEWER_GATEWAY]")
@click.version_option(__version__, "--version", prog_name="reviewer")
@click.pass_context
def cli(ctx: click.Context, db: str | None, gateway: str | None) -> None:
    """Review flagged LLM outputs and approve risky agent actions from the terminal.

    \b
    Start here:
      reviewer demo                       try the app on a realistic sample queue
      reviewer ingest items.jsonl         load flagged outputs / pending actions
      reviewer                            open the triage app on your queue
      reviewer list --status pending      see what is waiting
      reviewer export --format golden -o golden.jsonl
    """
    ctx.obj = Ctx(db, gateway)
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["tui"])


def main() -> None:
    import os

    # pydantic looks for plugins (observability hooks) through every installed package's
    # entry points the first time it builds a validator: a fifth of `reviewer show`. The
    # command line has no use for them; set the variable yourself to choose otherwise.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    cli(prog_name="reviewer")


def json_object(text: str, option: str) -> dict[str, Any]:
    """A command-line JSON object, or a usage error naming the option."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise click.BadParameter(f"not valid JSON: {e}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=option)
    return value


def local_db(c: Ctx) -> str:
    """The database URL, for commands that work on the database itself (on the gateway's
    host, not through it)."""
    from ..config import is_gateway

    url = c.url
    if is_gateway(url):
        raise click.UsageError("this command works on a database, not through a gateway: "
                               "run it where the gateway runs, with --db")
    return url
