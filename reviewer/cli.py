"""The `reviewer` command line. Imports are lazy so `reviewer --help` stays fast.

Exit codes: 0 ok; 1 an error (one line, with a hint); 2 bad usage; 3 not found;
4 conflict (lease held, already decided, expired, id reused); 5 storage unreachable or locked;
6 some input lines were rejected (ingest).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .vocab import KINDS, OPEN, RISKS, STATUSES

if TYPE_CHECKING:
    from .models import ItemFilter, ItemSummary, QueueItem
    from .queue import ReviewQueue

EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_STORAGE, EXIT_BAD_INPUT = 3, 4, 5, 6


def say(text: str, *, err: bool = False, fg: str | None = None) -> None:
    """Print human-readable text. Everything the CLI prints passes here or `say_json`, so
    no control character or bidi override from an item reaches the terminal."""
    from .safe_text import safe

    click.secho(safe(text, limit=None), err=err, fg=fg)


def say_json(text: str) -> None:
    """Print JSON for scripts: the same data, with terminal controls as `\\u` escapes."""
    from .safe_text import safe_json

    click.echo(safe_json(text))


class ReviewerGroup(click.Group):
    """Turns ReviewerError into one line plus a hint, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import Conflict, NotFound, ReviewerError, StorageError

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


class Ctx:
    def __init__(self, db: str | None):
        self.db = db
        self._queue: ReviewQueue | None = None

    @property
    def queue(self) -> ReviewQueue:
        if self._queue is None:
            from .config import open_queue

            self._queue = open_queue(self.db)
        return self._queue


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=ReviewerGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="REVIEWER_DB", metavar="URL",
              help="Queue database: a SQLite path/URL or postgresql+psycopg://... "
                   "[env REVIEWER_DB; default: a file in your user data dir]")
@click.version_option(__version__, "--version", prog_name="reviewer")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Review flagged LLM outputs and approve risky agent actions from the terminal.

    \b
    Start here:
      reviewer demo                       try the app on a realistic sample queue
      reviewer ingest items.jsonl         load flagged outputs / pending actions
      reviewer                            open the triage app on your queue
      reviewer list --status pending      see what is waiting
      reviewer export --format golden -o golden.jsonl
    """
    ctx.obj = Ctx(db)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


def main() -> None:
    cli(prog_name="reviewer")


# -- ingest / flag ----------------------------------------------------------------------


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

    from .ingest import ingest as run

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
    if not report.ok:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.option("--output", "output", help="The flagged LLM output text.")
@click.option("--output-file", type=click.File("r"), help="Read the output text from a file.")
@click.option("--reason", "reasons", multiple=True, required=True,
              help="Why it is flagged, a dotted name such as user.thumbs_down (repeatable).")
@click.option("--score", type=float, help="Score for the (first) reason.")
@click.option("--detail", help="Detail for the (first) reason.")
@click.option("--input", "input_text", help="The user message that produced the output.")
@click.option("--queue", default="default", show_default=True)
@click.option("--priority", default=2, show_default=True, help="0 is most urgent.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--id", "item_id", help="Your id for the item (makes re-flagging idempotent).")
@click.option("--trace-id", help="The trace id in your observability tool.")
@pass_ctx
def flag(c: Ctx, output: str | None, output_file: Any, reasons: tuple[str, ...],
         score: float | None, detail: str | None, input_text: str | None, queue: str,
         priority: int, tags: tuple[str, ...], item_id: str | None, trace_id: str | None) -> None:
    """Flag one LLM output for review, from the command line."""
    from pydantic import ValidationError

    from .errors import Invalid
    from .ingest import describe
    from .models import parse_item

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
        from .errors import Conflict

        raise Conflict(f"id {r.id!r}: {r.detail}", hint="use a new --id")
    say(f"{r.outcome} {r.id}")


# -- list / show ------------------------------------------------------------------------


def _filter_options(f: Any) -> Any:
    opts = [
        click.option("--queue", help="Only this queue."),
        click.option("--kind", type=click.Choice(KINDS)),
        click.option("--status", multiple=True,
                     type=click.Choice(STATUSES),
                     help="Only these states (repeatable)."),
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

    from .models import ItemFilter

    def utc(d: Any) -> Any:
        return d.replace(tzinfo=UTC) if d is not None else None

    return ItemFilter(queue=kw.get("queue"), kind=kw.get("kind"), status=list(kw.get("status") or []) or None,
                      risk=kw.get("risk"), tag=kw.get("tag"), flag=kw.get("flag_reason"),
                      since=utc(kw.get("since")), until=utc(kw.get("until")))


def _age(dt: Any) -> str:
    from .models import utcnow
    from .timefmt import age

    return age(dt, utcnow())


def _summary_line(s: ItemSummary) -> list[str]:
    from .safe_text import safe_line

    if s.kind == "action":
        why = f"{s.risk} {s.tool}"
        if s.expires_at and s.status in OPEN:
            why += f" (deadline {_age(s.expires_at)})"
    else:
        why = ", ".join(f"{f.reason}" + (f" {f.score:.2f}" if f.score is not None else "") for f in s.flags)
    state = s.status + (f" by {s.claimed_by}" if s.claimed_by else "")
    if s.verdict:
        state += f" ({s.verdict})"
    return [safe_line(s.id, 24), s.kind, safe_line(s.queue, 20), str(s.priority), safe_line(state, 28),
            _age(s.created_at), safe_line(why, 48), safe_line(s.snippet, 60)]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


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
    rows = c.queue.list_items(flt, limit=limit, after=after, order=order)
    if as_json:
        for r in rows:
            say_json(r.model_dump_json())
        return
    total = c.queue.count(flt)
    if not rows:
        say("no items match" if total == 0 else "no more items")
        return
    say(_table(["ID", "KIND", "QUEUE", "PRI", "STATUS", "AGE", "WHY", "SNIPPET"],
                      [_summary_line(r) for r in rows]))
    if total > len(rows):
        say(f"\n{len(rows)} of {total}; more with --after {rows[-1].id}", err=True)


def render_item(q: QueueItem) -> str:
    """A readable, terminal-safe text view of one item."""
    from .models import OutputItem
    from .safe_text import safe, safe_line

    it = q.item
    lines = [f"{q.kind} {safe_line(q.id)}  queue={safe_line(q.queue)}  priority={q.priority}  "
             f"status={q.status}" + (f" ({q.verdict} by {safe_line(q.decided_by)})" if q.verdict else "")]
    src = it.source
    meta = [f"{safe_line(k, 40)}={safe_line(str(v), 60)}" for k, v in src.model_dump(exclude_none=True).items()]
    if meta:
        lines.append("source: " + "  ".join(meta))
    if it.tags:
        lines.append("tags: " + ", ".join(safe_line(t, 40) for t in it.tags))
    for f in it.flags:
        score = f" {f.score:.2f}" if f.score is not None else ""
        lines.append(f"flag: {safe_line(f.reason)}{score}  {safe_line(f.detail, 200)}")
    for m in it.input.messages:
        lines.append(f"\n[{safe_line(m.role, 20)}]\n{safe(m.content)}")
    if it.input.text:
        lines.append(f"\n[input]\n{safe(it.input.text)}")
    for doc in it.context.documents:
        lines.append(f"\n[document {safe_line(doc.id, 60)}] {safe_line(doc.title)}\n{safe(doc.text)}")
    if it.context.metadata:
        lines.append("\n[metadata]\n" + safe(json.dumps(it.context.metadata, indent=2, ensure_ascii=False)))
    if isinstance(it, OutputItem):
        lines.append(f"\n[output]\n{safe(it.output)}")
        if it.reference:
            lines.append(f"\n[reference]\n{safe(it.reference)}")
    else:
        a = it.action
        lines.append(f"\n[action] {safe_line(a.tool)}  risk={it.risk}"
                     + (f"  deadline {_age(q.expires_at)}" if q.expires_at else ""))
        lines.append(safe(json.dumps(a.arguments, indent=2, ensure_ascii=False)))
        if a.rationale:
            lines.append(f"rationale: {safe(a.rationale)}")
    for d in q.decisions:
        extra = f" reverts {d.reverts}" if d.reverts else ""
        lines.append(f"\ndecision {d.seq}: {d.verdict} by {safe_line(d.reviewer)} at "
                     f"{d.decided_at:%Y-%m-%d %H:%M:%S}Z{extra}"
                     + (f" reasons={','.join(d.reasons)}" if d.reasons else "")
                     + (f" comment={safe_line(d.comment, 200)}" if d.comment else ""))
    return "\n".join(lines)


@cli.command()
@click.argument("item_id")
@click.option("--json", "as_json", is_flag=True, help="The item, its state and decisions as JSON.")
@pass_ctx
def show(c: Ctx, item_id: str, as_json: bool) -> None:
    """Show one item: flags, conversation, context, output or action, and decisions."""
    q = c.queue.get(item_id)
    if as_json:
        say_json(q.model_dump_json(indent=2))
    else:
        say(render_item(q))


# -- decide / undo ----------------------------------------------------------------------


def _json_object(text: str, option: str) -> dict[str, Any]:
    """A command-line JSON object, or a usage error naming the option."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise click.BadParameter(f"not valid JSON: {e}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=option)
    return value


@cli.command()
@click.argument("item_id")
@click.option("--approve", "verdict", flag_value="approve", help="Approve the output or action.")
@click.option("--reject", "verdict", flag_value="reject", help="Reject it (give --reason).")
@click.option("--correct-file", type=click.File("r"), help="Correct an output: the corrected text.")
@click.option("--arguments", "arguments_json", metavar="JSON",
              help="Approve an action with these edited arguments (a JSON object).")
@click.option("--reason", "reasons", multiple=True, help="A reason label (repeatable).")
@click.option("--comment", help="A comment for the record (and the agent, for actions).")
@click.option("--reviewer", envvar="REVIEWER_NAME", help="Your name [env REVIEWER_NAME; default: login].")
@click.option("--decision-id", help="Idempotency key: retrying with the same id is a no-op.")
@pass_ctx
def decide(c: Ctx, item_id: str, verdict: str | None, correct_file: Any, arguments_json: str | None,
           reasons: tuple[str, ...], comment: str | None, reviewer: str | None,
           decision_id: str | None) -> None:
    """Record a decision on one item.

    \b
    reviewer decide fin-0001 --approve
    reviewer decide fin-0002 --reject --reason wrong_numbers --comment "USD figure invented"
    reviewer decide fin-0003 --correct-file fixed.txt
    reviewer decide act-0001 --arguments '{"order_id": "55120", "amount": 249.0}'
    """
    from .config import reviewer_name
    from .models import DecisionIn

    arguments = None if arguments_json is None else _json_object(arguments_json, "--arguments")
    correction = correct_file.read() if correct_file else None
    if verdict is None:
        verdict = "correct" if correction is not None or arguments is not None else None
    elif verdict == "approve" and arguments is not None:
        verdict = "correct"
    if verdict is None:
        raise click.UsageError("say --approve, --reject, --correct-file F or --arguments JSON")
    fields: dict[str, Any] = {"verdict": verdict, "reviewer": reviewer or reviewer_name(),
                              "reasons": list(reasons), "comment": comment,
                              "correction": correction, "arguments": arguments}
    if decision_id:
        fields["id"] = decision_id
    d = c.queue.decide(item_id, DecisionIn(**fields))
    say(f"{d.verdict} {item_id} (decision {d.id})")


@cli.command()
@click.argument("item_id")
@click.option("--reviewer", envvar="REVIEWER_NAME", help="Your name [env REVIEWER_NAME].")
@pass_ctx
def undo(c: Ctx, item_id: str, reviewer: str | None) -> None:
    """Undo the last decision on an item: a revert is recorded and the item is pending again."""
    from .config import reviewer_name

    d = c.queue.undo(item_id, reviewer or reviewer_name())
    say(f"reverted {d.reverts} on {item_id}; it is pending again")


# -- export -----------------------------------------------------------------------------


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

    from .export import export as run

    r = run(c.queue, fmt, out, cursor=cursor, queues=queues, verdicts=verdicts,
            since=since.replace(tzinfo=UTC) if since else None, include_rejected=include_rejected)
    say(f"wrote {r.written} new records ({r.total} in all) to {r.path}; "
               f"sha256 {r.sha256[:12]}…; cursor {r.cursor_from}->{r.cursor_to}")


# -- stats ------------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_ctx
def stats(c: Ctx, as_json: bool) -> None:
    """Counts: pending, claimed, decided, expired, decided today."""
    counts = c.queue.stats()
    if as_json:
        say_json(json.dumps(counts))
        return
    say("  ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))


# -- policy -----------------------------------------------------------------------------


@cli.group()
def policy() -> None:
    """Approval policies: which tool calls are allowed, reviewed or denied."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate a policy FILE and list its rules in the order they are tried."""
    from .policy import load_policy, warnings

    p = load_policy(file)
    for tool in p.schemas:
        say(f"schema: {tool} arguments must fit a JSON Schema")
    for i, r in enumerate(p.rules, 1):
        extra = "".join(f" {k}={v}" for k, v in (("risk", r.risk), ("timeout_s", r.timeout_s)) if v)
        when = " and ".join(c.text for c in r.when) or "always"
        say(f"{i}. {r.name}: {r.tool} when {when} -> {r.action}{extra}")
    for w in warnings(p):
        say(f"warning: {w}", err=True)
    say(f"ok: {len(p.rules)} rules; anything else -> review")


@policy.command("test")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--tool", required=True, help="The tool name the agent calls.")
@click.option("--arguments", "arguments_json", default="{}", metavar="JSON", help="The call's arguments.")
def policy_test(file: str, tool: str, arguments_json: str) -> None:
    """Show what FILE decides for one call, and why each rule did or did not match.

    \b
    reviewer policy test policy.toml --tool run_sql --arguments '{"statement": "SELECT 1"}'
    """
    from .policy import load_policy

    args = _json_object(arguments_json, "--arguments")
    v, steps, outside = load_policy(file).explain(tool, args)
    rule = f"rule {v.rule!r}" if v.rule else "no rule decided (default)"
    extra = "".join(f" {k}={val}" for k, val in (("risk", v.risk), ("timeout_s", v.timeout_s)) if val)
    say(f"{v.action}: {rule}{extra}")
    say(f"  because {v.why}")
    if outside and v.rule:
        say(f"  schema: outside the schema of {tool} ({outside}), so no rule may allow it")
    for i, st in enumerate(steps, 1):
        mark = "->" if st.decided else "  "
        say(f"{mark} {i}. {st.rule.name} ({st.rule.action}): {st.outcome}: {'; '.join(st.reasons)}")


# -- db ---------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_ctx
def upgrade(c: Ctx) -> None:
    """Apply schema migrations (done automatically on open; this makes it explicit)."""
    from storage import migrate
    from storage.engine import make_engine

    from .config import resolve_db_url

    engine = make_engine(resolve_db_url(c.db))
    try:
        before, after = migrate.upgrade(engine, force=True)
    finally:
        engine.dispose()
    say(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


# -- TUI --------------------------------------------------------------------------------


def _run_app(db: str | None) -> None:
    from screens import make_app
    from storage.peek import peek

    from .config import open_queue, resolve_db_url

    url = resolve_db_url(db)
    make_app(lambda: open_queue(url), peek=lambda: peek(url)).run()


@cli.command()
@pass_ctx
def tui(c: Ctx) -> None:
    """Open the triage app on the queue (the default command)."""
    _run_app(c.db)


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

    from .config import data_dir
    from .demo import build_demo

    target = Path(path) if path else data_dir() / "demo.db"
    with click.progressbar(length=items, label="building demo queue", file=sys.stderr) as bar:
        build_demo(target, items, seed=seed, progress=bar.update)
    say(f"demo queue: {target} ({items} items)", err=True)
    if not no_open:
        _run_app(f"sqlite:///{target}")
