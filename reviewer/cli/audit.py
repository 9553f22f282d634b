"""`reviewer audit`: the audit trail's own checks."""

from __future__ import annotations

import json

import click

from .base import Ctx, cli, local_db, pass_ctx, say, say_json

EXIT_BROKEN = 1  # the chain is broken (an error, like any other)


@cli.group()
def audit() -> None:
    """The audit trail (decisions and audit log) and its hash chain."""


@audit.command()
@click.option("--anchor", metavar="HASH", help="A head hash printed by an earlier verify and kept elsewhere: "
              "the chain must still contain it (so it was not rewritten up to there).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@pass_ctx
def verify(c: Ctx, anchor: str | None, as_json: bool) -> None:
    """Check the hash chain over every decision and audit row; name the first broken link.

    Exits 0 when the chain holds and prints its head hash: keep that hash somewhere the
    database's owner cannot write (a ticket, another machine), and pass it as --anchor
    later. Exits 1 when a row was edited, deleted or inserted outside reviewer.
    """
    from reviewer.storage.sql_queue import SqlQueue

    local_db(c)
    queue = c.existing_queue
    assert isinstance(queue, SqlQueue)
    report = queue.verify_chain(anchor=anchor.strip().lower() if anchor else None)
    if as_json:
        say_json(json.dumps(report.as_dict()))
    elif report.ok:
        say(f"audit chain intact: {report.counts['decisions']:,} decisions and {report.counts['audit']:,} "
            f"audit rows, {report.pos:,} links" + (", anchor found" if anchor else ""))
        say(f"head {report.head}")
        say("keep this hash elsewhere; reviewer audit verify --anchor HASH then proves the chain was not "
            "rewritten up to it", err=True)
    else:
        say(f"error: audit chain broken at {report.broken}", err=True, fg="red")
        say("hint: the database was changed outside reviewer; restore it from a backup or keep it as "
            "evidence", err=True)
    if not report.ok:
        click.get_current_context().exit(EXIT_BROKEN)
