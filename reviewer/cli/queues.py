"""`reviewer queue`: a queue's own rules (two approvers, reasons, guidelines, lease length,
reviews per item), stored in the queue and enforced by it for every client."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click

from .base import Ctx, cli, pass_ctx, say, say_json

if TYPE_CHECKING:
    from ..models import QueueSettings

_DURATION = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$")


def _lease(text: str) -> int | None:
    """`90`, `90s`, `10m`, `1h` -> seconds; `default` -> None."""
    if text.strip().lower() == "default":
        return None
    m = _DURATION.match(text)
    if not m:
        raise click.BadParameter("a duration such as 90s, 10m or 1h, or 'default'", param_hint="--lease")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _rule(r: Any) -> str:
    which = " and ".join(r.kinds) + (f" at risk {r.min_risk}+" if "action" in r.kinds and r.min_risk else "")
    if r.flags:
        which += " flagged " + "/".join(r.flags)
    return f"{which} -> {r.shown}" + (" (reminder at half the deadline)" if r.remind else "")


def describe(name: str, s: QueueSettings, own: bool) -> str:
    reasons = ", ".join(s.reasons) if s.reasons else "(the default taxonomy)"
    lines = [f"queue {name}" + ("" if own else "  (defaults: no settings of its own)"),
             f"  two approvers for critical actions: {'yes' if s.two_approvers else 'no'}",
             f"  reject reasons: {reasons}",
             f"  lease: {int(s.lease_seconds)} s" + ("" if s.lease_s is not None else " (default)"),
             f"  reviews per item: {s.reviews_per_item}",
             "  notify: " + ("; ".join(_rule(r) for r in s.notify) if s.notify else "(nobody)"),
             "  judge prompt: " + (f"its own ({len(s.judge_prompt):,} chars)" if s.judge_prompt else "the built-in one"),
             "  guidelines: " + (s.guidelines if s.guidelines else "(none)")]
    return "\n".join(lines)


@cli.group("queue")
def queue_group() -> None:
    """A queue's own rules, kept in the queue and enforced by it.

    \b
    Every reviewer, agent and gateway using the queue gets the same rules; nothing is read
    from a client's reviewer.toml.
      reviewer queue set payments --two-approvers --reasons fraud,wrong_amount,other
      reviewer queue set finchat-summaries --guidelines-file finchat.md --lease 10m
      reviewer queue show payments
    """


@queue_group.command("set")
@click.argument("name")
@click.option("--two-approvers/--one-approver", default=None,
              help="Critical actions need two distinct approvers (or one).")
@click.option("--reasons", metavar="A,B,...", help="Reject reasons offered to reviewers; 'default' for the built-in taxonomy.")
@click.option("--guidelines", metavar="TEXT", help="Shown on the review screen; '' to remove.")
@click.option("--guidelines-file", type=click.File(encoding="utf-8"), help="Guidelines from a file.")
@click.option("--lease", "lease", metavar="DURATION", help="How long a claim holds an item: 90s, 10m, 1h, or 'default' (5m).")
@click.option("--reviews-per-item", type=click.IntRange(1, 10), help="Different reviewers each output needs; when they disagree it shows as disputed until one more reviewer settles it.")
@click.option("--notify", "notify_to", multiple=True, metavar="URL",
              help="Announce new items at this apprise URL (slack://..., json://host/path, mailto://...; "
                   "repeatable; the notify extra). Replaces the queue's notification rules.")
@click.option("--notify-kind", "notify_kinds", multiple=True, type=click.Choice(["action", "output"]),
              help="Which kinds to announce [default: action].")
@click.option("--notify-min-risk", type=click.Choice(["low", "medium", "high", "critical"]), default="high",
              show_default=True, help="Actions at this risk or above.")
@click.option("--notify-flag", "notify_flags", multiple=True, metavar="REASON",
              help="Outputs flagged with this reason (a prefix such as guardrail.; repeatable).")
@click.option("--no-notify", is_flag=True, help="Announce nothing any more.")
@click.option("--judge-prompt", "judge_prompt", type=click.File(encoding="utf-8"), metavar="FILE",
              help="The judge's prompt for this queue (reviewer suggest; $task, $reasons, $guidelines ... "
                   "as in the built-in one); '-' reads stdin. Kept in the queue, versioned by its hash.")
@click.option("--default-judge-prompt", is_flag=True, help="Go back to the built-in judge prompt.")
@click.option("--json", "as_json", is_flag=True, help="Print the resulting settings as JSON.")
@pass_ctx
def set_(c: Ctx, name: str, two_approvers: bool | None, reasons: str | None, guidelines: str | None,
         guidelines_file: Any, lease: str | None, reviews_per_item: int | None, notify_to: tuple[str, ...],
         notify_kinds: tuple[str, ...], notify_min_risk: str, notify_flags: tuple[str, ...], no_notify: bool,
         judge_prompt: Any, default_judge_prompt: bool, as_json: bool) -> None:
    """Change some of queue NAME's rules; the others keep their values."""
    from pydantic import ValidationError

    from ..errors import Invalid
    from ..models import QueueSettings

    changes: dict[str, Any] = {}
    if two_approvers is not None:
        changes["two_approvers"] = two_approvers
    if reasons is not None:
        labels = [r.strip() for r in reasons.split(",") if r.strip()]
        changes["reasons"] = None if reasons.strip().lower() == "default" or not labels else labels
    if guidelines_file is not None:
        guidelines = guidelines_file.read()
    if guidelines is not None:
        changes["guidelines"] = guidelines.strip() or None
    if lease is not None:
        changes["lease_s"] = _lease(lease)
    if reviews_per_item is not None:
        changes["reviews_per_item"] = reviews_per_item
    if notify_to:
        changes["notify"] = [{"to": to, "kinds": list(notify_kinds) or ["action"], "min_risk": notify_min_risk,
                              "flags": list(notify_flags)} for to in notify_to]
    elif no_notify:
        changes["notify"] = []
    if judge_prompt is not None:
        changes["judge_prompt"] = judge_prompt.read().strip() or None
    elif default_judge_prompt:
        changes["judge_prompt"] = None
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    current = c.queue.queue_settings(name)
    try:
        new = QueueSettings.model_validate({**current.model_dump(), **changes})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise Invalid(f"{where}: {err['msg']}", hint="see reviewer queue set --help") from None
    saved = c.queue.set_queue_settings(name, new, actor=c.reviewer())
    if as_json:
        say_json(saved.without_secrets().model_dump_json())
    else:
        say(describe(name, saved, own=True))


@queue_group.command("show")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_ctx
def show(c: Ctx, name: str | None, as_json: bool) -> None:
    """Show queue NAME's rules, or every queue's."""
    own = c.queue.all_queue_settings()
    if name is not None:
        names = [name]
    else:
        names = sorted(set(own) | set(c.queue.facets().get("queues", [])))
    settings = {n: own.get(n) or c.queue.queue_settings(n) for n in names}
    if as_json:
        say_json(json.dumps({n: s.without_secrets().model_dump(mode="json") for n, s in settings.items()}))
        return
    if not names:
        say("no queues yet: items arrive with `reviewer ingest`, `reviewer flag` or a gate")
        return
    say("\n\n".join(describe(n, s, own=n in own) for n, s in settings.items()))
