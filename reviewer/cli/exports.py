"""`reviewer export`: decisions as dataset files."""

from __future__ import annotations

from typing import Any

import click

from .base import Ctx, cli, pass_ctx, say


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["golden"]), default="golden", show_default=True)
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Output JSONL file (written atomically, with OUT.manifest.json).")
@click.option("--cursor", metavar="NAME",
              help="Incremental: only decisions since the last run with this cursor name.")
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable).")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(["approve", "reject", "correct"]))
@click.option("--since", type=click.DateTime(), help="Only decisions at or after (UTC).")
@click.option("--include-rejected", is_flag=True, help="Also export rejects (expected_output null).")
@pass_ctx
def export(c: Ctx, fmt: str, out: str, cursor: str | None, queues: tuple[str, ...],
           verdicts: tuple[str, ...], since: Any, include_rejected: bool) -> None:
    """Export decisions as a dataset (golden: input, expected_output, context, metadata)."""
    from datetime import UTC

    from ..export import export as run

    r = run(c.queue, fmt, out, cursor=cursor, queues=queues, verdicts=verdicts,
            since=since.replace(tzinfo=UTC) if since else None, include_rejected=include_rejected)
    say(f"wrote {r.written} new records ({r.total} in all) to {r.path}; "
               f"sha256 {r.sha256[:12]}…; cursor {r.cursor_from}->{r.cursor_to}")
