"""`reviewer report`: what the human decisions say about the flaggers and the reviewers."""

from __future__ import annotations

import json

import click

from .base import Ctx, cli, pass_ctx, say, say_json


@cli.command()
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_ctx
def report(c: Ctx, queues: tuple[str, ...], as_json: bool) -> None:
    """Precision of each judge and guardrail, failure modes by week, and the reviewers.

    \b
    flags      per flag reason: decided items it flagged, how many humans confirmed (reject
               or correct) and overturned (approve), the precision with a 95% interval, and
               for scored flags the score at or below which it stays >= 80% precise
    failures   per queue and ISO week: the reasons of rejects and corrections
    reviewers  decisions, median time per decision, and Cohen's kappa between reviewers
               who decided the same items
    judges     per queue and judge model (reviewer suggest): how often the reviewer's
               verdict was the suggested one, and the kappa between judge and humans
    """
    from ..export import decided_items
    from ..report import build
    from .render import table

    items = (i for i in decided_items(c.existing_queue) if not queues or i.queue in queues)
    r = build(items)
    if as_json:
        say_json(json.dumps(r.as_json()))
        return

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.0%}"

    say("Flags: do humans agree with what flagged the item?")
    say(table(["flag", "flagged", "confirmed", "overturned", "precision", "95% interval", "flag at score <="],
              [[f.reason, str(f.flagged), str(f.confirmed), str(f.overturned), pct(f.precision),
                f"{f.interval[0]:.0%}-{f.interval[1]:.0%}",
                "-" if f.suggested_threshold is None else f"{f.suggested_threshold:g}"] for f in r.flags])
        if r.flags else "  no human decisions on flagged items yet")
    say("\nFailure modes (reasons of rejects and corrections), by week:")
    rows = [[q, week, ", ".join(f"{k} {n}" for k, n in reasons.items())]
            for q, weeks in r.failure_modes.items() for week, reasons in weeks.items()]
    say(table(["queue", "week", "reasons"], rows) if rows else "  none yet")
    say("\nReviewers:")
    say(table(["reviewer", "decisions", "median time", "per hour"],
              [[x.reviewer, str(x.decisions), "-" if x.median_ms is None else f"{x.median_ms / 1000:.1f} s",
                "-" if x.per_hour is None else f"{x.per_hour:g}"] for x in r.reviewers])
        if r.reviewers else "  none yet")
    if r.agreement:
        say("\nAgreement where two reviewers decided the same items (Cohen's kappa):")
        say(table(["reviewers", "items", "kappa"],
                  [[f"{a.a} / {a.b}", str(a.items), "-" if a.kappa is None else f"{a.kappa:.2f}"]
                   for a in r.agreement]))
    say("\nJudges: how often did the reviewer decide what the judge suggested?")
    say(table(["queue", "model", "prompt", "items", "agreed", "rate", "95% interval", "kappa"],
              [[j.queue, j.model, j.prompt_version, str(j.items), str(j.agreed), pct(j.rate), f"{j.interval[0]:.0%}-{j.interval[1]:.0%}",
                "-" if j.kappa is None else f"{j.kappa:.2f}"] for j in r.judges])
        if r.judges else "  no decided item had a suggestion yet (reviewer suggest)")
