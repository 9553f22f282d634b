"""`reviewer replay`: re-run a golden dataset on today's model and queue what changed."""

from __future__ import annotations

import sys
from typing import TextIO

import click

from .base import Ctx, cli, pass_ctx, say


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
    import os
    import re

    from ..models import utcnow
    from ..replay import litellm_completer
    from ..replay import replay as run

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
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
