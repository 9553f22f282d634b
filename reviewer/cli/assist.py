"""`reviewer replay`: re-run a golden dataset on today's model and queue what changed."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from .base import Ctx, cli, pass_ctx, say


def need_provider(model: str, mock_response: str | None) -> None:
    """Prices from litellm's local price list; and, unless a dry run, the provider's key, or a
    one-line error naming the variable to set."""
    import os

    from ..errors import ReviewerError
    from ..judge import missing_keys

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if mock_response is None and (missing := missing_keys(model)):
        raise ReviewerError(f"{model} needs {', '.join(missing)}", hint=f"set {missing[0]} in the environment, "
                            "or try a dry run with --mock-response")


@cli.command()
@click.argument("golden", type=click.File("r", encoding="utf-8"))
@click.option("--model", required=True, help="The model to replay on, as litellm names it (openai/gpt-4o-mini).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Similarity (0-1) below which an answer counts as changed.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--run", "run_name", help="Name of this run; changed answers go to queue replay-NAME "
                                        "(default: the model and the time).")
@click.option("--mock-response", metavar="TEXT", help="Dry run: answer every input with TEXT, calling no provider.")
@pass_ctx
def replay(c: Ctx, golden: TextIO, model: str, threshold: float, concurrency: int,
           run_name: str | None, mock_response: str | None) -> None:
    """Re-run GOLDEN's inputs (a `reviewer export --format golden` file) on MODEL, and queue
    the answers that changed, with the golden answer as the reference (a word-level diff in
    the TUI). Prints how many were unchanged, changed and failed, and the cost.

    \b
      reviewer replay golden.jsonl --model openai/gpt-4o-mini
      reviewer replay golden.jsonl --model openai/gpt-4o-mini --threshold 0.8 --run q4-check

    Provider keys come from the environment, as litellm reads them (OPENAI_API_KEY, ...).
    """
    import re

    from ..models import utcnow
    from ..replay import litellm_completer
    from ..replay import replay as run

    need_provider(model, mock_response)
    lines = golden.readlines()
    name = run_name or re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{model}-{utcnow():%Y%m%d-%H%M}")
    with click.progressbar(length=len([x for x in lines if x.strip()]), label=f"replaying on {model}",
                           file=sys.stderr) as bar:
        r = run(lines, litellm_completer(model, mock_response=mock_response), c.queue, run=name, model=model,
                threshold=threshold, concurrency=concurrency, progress=bar.update)
    for bad in r.bad_lines:
        say(f"skipped {bad}", err=True, fg="yellow")
    for gid, why in list(r.failed.items())[:10]:
        say(f"failed {gid}: {why}", err=True, fg="red")
    say(f"unchanged {r.unchanged}, changed {r.changed} (queued to {r.queue}), failed {len(r.failed)}; "
        f"cost ${r.cost_usd:.4f}")
    if not (r.changed or r.unchanged):
        if not r.failed:
            say("nothing to replay: no line of the file is a golden entry (reviewer export --format golden)",
                err=True, fg="red")
        sys.exit(1)


@cli.command()
@click.option("--model", required=True, help="The judge model, as litellm names it (openai/gpt-4o-mini).")
@click.option("--queue", "queue_name", help="Only this queue.")
@click.option("--kind", type=click.Choice(["output", "action"]), help="Only outputs or actions.")
@click.option("--flag", help="Only items flagged with this reason (or a prefix ending in '.').")
@click.option("--tag", help="Only items with this tag.")
@click.option("--limit", type=click.IntRange(1), help="Judge at most this many items (the first in priority "
              "order that this model and prompt have not judged yet).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Judge calls in flight at once.")
@click.option("--mock-response", metavar="JSON", help="Dry run: the judge answers every item with JSON, an "
              'object such as {"verdict": "reject", "reasons": ["tone"], "rationale": "...", "confidence": 0.8} '
              "(correct: with \"correction\", or \"arguments\" for actions), calling no provider "
              "(tokens and cost are estimates).")
@pass_ctx
def suggest(c: Ctx, model: str, queue_name: str | None, kind: str | None, flag: str | None, tag: str | None,
            limit: int | None, concurrency: int, mock_response: str | None) -> None:
    """Let an LLM judge draft a suggestion for each open item: a verdict, reasons from the
    queue's taxonomy, a correction where one applies, a rationale and a confidence. A
    suggestion is never a decision: the reviewer sees it beside the item and takes its
    correction (C) or its reasons (R), or ignores it.

    \b
      reviewer suggest --model openai/gpt-4o-mini --queue finchat-summaries
      reviewer suggest --model anthropic/claude-3-5-haiku-latest --kind action --limit 50

    Items that already have a suggestion from MODEL and the queue's current prompt are
    skipped, so a second run only pays for what is new. The answer is made to fit the item:
    reasons outside the queue's taxonomy are dropped, a correction that changes nothing is an
    approve, a correct without the corrected text a reject (the rationale says so). The prompt is reviewer's built-in
    judge-v1, or the queue's own (reviewer queue set NAME --judge-prompt FILE). Provider keys
    come from the environment, as litellm reads them (OPENAI_API_KEY, ...).
    """

    from ..judge import Judge
    from ..models import ItemFilter
    from ..suggest import suggest as run

    need_provider(model, mock_response)
    if mock_response is not None:
        try:
            if not isinstance(json.loads(mock_response), dict):
                raise ValueError("not an object")
        except ValueError:
            raise click.BadParameter("must be a JSON object, such as {\"verdict\": \"approve\", "
                                     "\"confidence\": 0.9}", param_hint="--mock-response") from None
    if queue_name is not None and queue_name not in c.queue.facets().get("queues", []):
        raise click.BadParameter(f"no queue named {queue_name!r}", param_hint="--queue")
    flt = ItemFilter(queue=queue_name, kind=kind, flag=flag, tag=tag)
    total = c.queue.count(flt.model_copy(update={"status": ["pending", "claimed"]}))
    total = min(total, limit) if limit else total  # with --limit the bar counts judged items only
    if total == 0:
        say("no open items match: nothing to judge")
        return
    with click.progressbar(length=total, label=f"judging with {model}", file=sys.stderr,
                           show_pos=True, item_show_func=lambda cost: cost) as bar:  # cost so far
        r = run(c.queue, Judge(model, mock_response=mock_response), model, flt, actor=c.reviewer(), limit=limit,
                concurrency=concurrency,
                progress=lambda n, so_far: bar.update(n, f"${so_far.cost_usd:.4f}"))
    for item_id, why in list(r.failed.items())[:10]:
        say(f"failed {item_id}: {why}", err=True, fg="red")
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(r.verdicts.items())) or "none"
    say(f"suggested {r.suggested} ({verdicts}), skipped {r.skipped} already judged, failed {len(r.failed)}; "
        f"{r.tokens:,} tokens, cost ${r.cost_usd:.4f}")
    if r.failed and not r.suggested:
        sys.exit(1)
