"""Getting items in and looking at them: ingest, flag, list, show, stats."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from ..vocab import KINDS, RISKS, STATUS_VIEWS
from .base import EXIT_BAD_INPUT, Ctx, cli, pass_ctx, say, say_json
from .render import render_item, summary_line, table

if TYPE_CHECKING:
    from ..models import ItemFilter


def labels(_: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """A repeatable name option (reasons, tags): each one a name the queue takes, or a usage
    error that says which."""
    from ..models import check_label

    for v in values:
        try:
            check_label(v)
        except ValueError as e:
            raise click.BadParameter(f"{v!r} {e}") from None
    return values


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--batch", default=1000, show_default=True, help="Items per transaction.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
def ingest(c: Ctx, file: Any, batch: int, as_json: bool) -> None:
    """Load items from a JSONL FILE (or - for stdin), one item per line.

    Re-running is safe: an item whose id is already queued with the same content is
    skipped; with different content it is reported as a conflict and not applied.
    Bad lines are reported with their line number; the good lines still go in.
    Exits 6 if any line was rejected.
    """
    import os

    from ..ingest import ingest as run

    size = 0
    try:
        size = os.fstat(file.fileno()).st_size
    except (OSError, ValueError):
        pass
    show = sys.stderr.isatty() and size > 1_000_000 and not as_json
    queue = c.queue
    if show:
        with click.progressbar(length=size, label="ingesting", file=sys.stderr) as bar:
            last = 0

            def progress(done: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = done

            report = run(queue, file, batch=batch, progress=progress)
    else:
        report = run(queue, file, batch=batch)
    if as_json:
        say_json(json.dumps(report.as_dict()))
    else:
        for err in [*report.invalid, *report.conflicts]:
            say(f"{getattr(file, 'name', '<stdin>')}: {err}", err=True)
        say(f"inserted {report.inserted}, unchanged {report.unchanged}, "
                   f"conflicts {len(report.conflicts)}, invalid {len(report.invalid)}")
    from ..notify import flush_before_exit

    flush_before_exit()  # the queue's notifications go out before this process exits (bounded)
    if not report.ok:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.option("--output", "output", help="The flagged LLM output text.")
@click.option("--output-file", type=click.File("r"), help="Read the output text from a file.")
@click.option("--reason", "reasons", multiple=True, required=True, callback=labels,
              help="Why it is flagged, a dotted name such as user.thumbs_down (repeatable).")
@click.option("--score", type=float, help="Score for the (first) reason.")
@click.option("--detail", help="Detail for the (first) reason.")
@click.option("--input", "input_text", help="The user message that produced the output.")
@click.option("--queue", default="default", show_default=True)
@click.option("--priority", default=2, show_default=True, help="0 is most urgent.")
@click.option("--tag", "tags", multiple=True, callback=labels, help="A tag (repeatable).")
@click.option("--id", "item_id", help="Your id for the item (makes re-flagging idempotent).")
@click.option("--trace-id", help="The trace id in your observability tool.")
@pass_ctx
def flag(c: Ctx, output: str | None, output_file: Any, reasons: tuple[str, ...],
         score: float | None, detail: str | None, input_text: str | None, queue: str,
         priority: int, tags: tuple[str, ...], item_id: str | None, trace_id: str | None) -> None:
    """Flag one LLM output for review, from the command line."""
    from pydantic import ValidationError

    from ..errors import Invalid
    from ..ingest import describe
    from ..models import parse_item

    if (output is None) == (output_file is None):
        raise click.UsageError("give exactly one of --output TEXT or --output-file FILE")
    text = output if output is not None else output_file.read()
    flags: list[dict[str, Any]] = [{"reason": r} for r in reasons]
    if score is not None:
        flags[0]["score"] = score
    if detail:
        flags[0]["detail"] = detail
    data: dict[str, Any] = {"kind": "output", "output": text, "queue": queue, "priority": priority,
                            "tags": list(tags), "flags": flags, "id": item_id}
    if input_text:
        data["input"] = {"messages": [{"role": "user", "content": input_text}]}
    if trace_id:
        data["source"] = {"trace_id": trace_id}
    try:
        item = parse_item(data)
    except ValidationError as e:
        raise Invalid(describe(e)) from None
    r = c.queue.enqueue(item, actor="cli")
    if r.outcome == "conflict":
        from ..errors import Conflict

        raise Conflict(f"id {r.id!r}: {r.detail}", hint="use a new --id")
    say(f"{r.outcome} {r.id}")


def _filter_options(f: Any) -> Any:
    opts = [
        click.option("--queue", help="Only this queue."),
        click.option("--kind", type=click.Choice(KINDS)),
        click.option("--status", multiple=True,
                     type=click.Choice(list(STATUS_VIEWS)),
                     help="Only these states (repeatable; open = pending or claimed; all = any)."),
        click.option("--risk", type=click.Choice(RISKS)),
        click.option("--tag", help="Only items with this tag."),
        click.option("--flag", "flag_reason",
                     help="Only items flagged with this reason (or prefix ending in '.', e.g. judge.)."),
        click.option("--since", type=click.DateTime(), help="Created at or after (UTC)."),
        click.option("--until", type=click.DateTime(), help="Created before (UTC)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _make_filter(kw: dict[str, Any]) -> ItemFilter:
    from datetime import UTC

    from ..models import ItemFilter

    def utc(d: Any) -> Any:
        return d.replace(tzinfo=UTC) if d is not None else None

    views = [STATUS_VIEWS[v] for v in kw.get("status") or ()]
    statuses = None if not views or None in views else sorted({s for v in views for s in v or ()})
    return ItemFilter(queue=kw.get("queue"), kind=kw.get("kind"), status=statuses,
                      risk=kw.get("risk"), tag=kw.get("tag"), flag=kw.get("flag_reason"),
                      since=utc(kw.get("since")), until=utc(kw.get("until")))


@cli.command(name="list")
@_filter_options
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
@click.option("--after", metavar="ID", help="Continue after this id (keyset paging).")
@click.option("--order", type=click.Choice(["priority", "age", "recent", "triage"]), default="priority",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_cmd(c: Ctx, limit: int, after: str | None, order: str, as_json: bool, **kw: Any) -> None:
    """List queued items, most urgent first."""
    flt = _make_filter(kw)
    rows = c.existing_queue.list_items(flt, limit=limit, after=after, order=order)
    if as_json:
        for r in rows:
            say_json(r.model_dump_json())
        return
    total = c.queue.count(flt)
    if not rows:
        say("no items match" if total == 0 else "no more items")
        return
    say(table(["ID", "KIND", "QUEUE", "PRI", "STATUS", "AGE", "WHY", "SNIPPET"],
                      [summary_line(r) for r in rows]))
    if total > len(rows):
        say(f"\n{len(rows)} of {total}; more with --after {rows[-1].id}", err=True)


@cli.command()
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True, help="The item, its state and decisions as JSON.")
@pass_ctx
def show(c: Ctx, item_id: str, as_json: bool) -> None:
    """Show one item: flags, conversation, context, output or action, and decisions."""
    from reviewer.storage.peek import as_queue_item, get_document

    # SQLite reads need neither the ORM nor, for text, pydantic: the standard library answers
    # in a fraction of the time
    doc = get_document(c.url, item_id)
    if as_json:
        q = as_queue_item(doc) if doc is not None else c.existing_queue.get(item_id)
        say_json(q.model_dump_json(indent=2))
    else:
        if doc is None:
            doc = c.existing_queue.get(item_id).model_dump(mode="json")
            doc["audit"] = [a.model_dump(mode="json") for a in c.queue.audit(item_id)]
        say(render_item(doc))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_ctx
def stats(c: Ctx, as_json: bool) -> None:
    """Counts: pending, claimed, decided, expired, decided today, and the median time a
    reviewer took per decision (over the last 1,000 decisions timed in the app)."""
    counts = c.existing_queue.stats()
    if as_json:
        say_json(json.dumps(counts))
        return
    median = counts.pop("median_decision_ms", 0)
    if not any(v for k, v in counts.items() if k.startswith("notify_")):  # no queue announces anything
        counts = {k: v for k, v in counts.items() if not k.startswith("notify_")}
    line = "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
    say(line + (f"  median time per decision {median / 1000:.1f} s" if median else ""))
