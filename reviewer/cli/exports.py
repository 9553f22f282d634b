"""`reviewer export`: decisions as dataset files."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from typing import Any

import click

from ..vocab import EXPORT_FORMATS
from .base import Ctx, cli, pass_ctx, say


@cli.command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="golden", show_default=True,
              help="golden, feedback, openai-chat, openai-dpo, trl-dpo, trl-kto, inspect, tool-calls or csv "
                   "(each described in docs/exports.md).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Output file, JSONL (CSV for --format csv), written atomically, with OUT.manifest.json.")
@click.option("--cursor", metavar="NAME",
              help="Incremental: only decisions since the last run with this cursor name; the file keeps "
                   "the rest, re-decided items replaced and undone ones dropped.")
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["output", "action"]), help="Only outputs or actions.")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(["approve", "reject", "correct"]),
              help="Only these verdicts (repeatable).")
@click.option("--reviewer", "reviewers", multiple=True, help="Only decisions by these reviewers (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only items with one of these tags (repeatable).")
@click.option("--since", type=click.DateTime(), help="Only decisions at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Only decisions before (UTC).")
@click.option("--include-rejected", is_flag=True, help="golden: also export rejects (expected_output null).")
@click.option("--split", metavar="NAME=FRACTION[,...]",
              help="Split by a hash of the item id, e.g. test=0.2: OUT's stem gets .test and .train "
                   "files; an item never changes split as the dataset grows.")
@click.option("--redact", is_flag=True,
              help="Replace emails, phone numbers, card numbers and IBANs by <EMAIL>, <PHONE>, <CARD>, <IBAN> "
                   "(the redact extra: pip install 'reviewer-tui[redact]').")
@click.option("--dedup", type=click.FloatRange(1, 100), metavar="SIMILARITY",
              help="Collapse near-duplicate inputs (rapidfuzz token_sort_ratio >= SIMILARITY, 1-100), "
                   "keeping the latest decision; the manifest lists what was dropped.")
@pass_ctx
def export(c: Ctx, fmt: str, out: str, cursor: str | None, queues: tuple[str, ...], kinds: tuple[str, ...],
           verdicts: tuple[str, ...], reviewers: tuple[str, ...], tags: tuple[str, ...], since: Any, until: Any,
           include_rejected: bool, split: str | None, redact: bool, dedup: float | None) -> None:
    """Export the standing decisions as a dataset in the format an eval or training tool loads.

    \b
      reviewer export --format golden -o golden.jsonl --cursor nightly
      reviewer export --format inspect -o samples.jsonl        # inspect_ai json_dataset
      reviewer export --format openai-chat -o train.jsonl      # OpenAI fine-tuning
      reviewer export --format feedback -o scores.jsonl        # Langfuse / Opik scores

    Items a format cannot hold (an action in golden, a reject in openai-chat) are counted in
    the manifest and named on stderr, never dropped silently.
    """
    from datetime import UTC

    from ..errors import Invalid
    from ..export import Filters, parse_split
    from ..export import export as run

    try:
        parse_split(split)
    except Invalid as e:
        raise click.BadParameter(str(e), param_hint="--split") from None

    flt = Filters(queues=frozenset(queues), kinds=frozenset(kinds), verdicts=frozenset(verdicts),
                  reviewers=frozenset(reviewers), tags=frozenset(tags),
                  since=since.replace(tzinfo=UTC) if since else None, until=until.replace(tzinfo=UTC) if until else None)
    with ExitStack() as stack:
        progress = None
        if sys.stderr.isatty():  # (a hidden bar would still print its label before any error)
            bar = stack.enter_context(click.progressbar(length=1, label=f"exporting {fmt}", file=sys.stderr))

            def progress(done: int, total: int) -> None:
                if not done:  # the items are found: the time per item counts from here
                    bar.start = time.time()
                bar.length = total
                bar.update(done - bar.pos)

        r = run(c.existing_queue, fmt, out, cursor=cursor, filters=flt, include_rejected=include_rejected, split=split,
                redact=redact, dedup=dedup, progress=progress)
    wrote = f"wrote {r.written} new record{'s' if r.written != 1 else ''} ({r.total} in all)"
    if r.splits:
        say(f"{wrote} to {', '.join(r.splits.values())}; cursor {r.cursor_from}->{r.cursor_to}")
    else:
        say(f"{wrote} to {r.path}; sha256 {r.sha256[:12]}…; cursor {r.cursor_from}->{r.cursor_to}")
    if redact:
        say("redacted: " + (", ".join(f"{n} {kind}" for kind, n in r.redacted.items()) or "nothing found"), err=True)
    if r.duplicates:
        n = len(r.duplicates)
        say(f"dropped {n} near-duplicate{'s' if n != 1 else ''} (listed in the manifest)", err=True, fg="yellow")
    for why, n in r.left_out.items():
        named = ", ".join(r.left_out_ids.get(why, []))
        more = ", …" if n > len(r.left_out_ids.get(why, [])) else ""
        say(f"left out {n} item{'s' if n != 1 else ''} ({named}{more}): {why}", err=True, fg="yellow")
