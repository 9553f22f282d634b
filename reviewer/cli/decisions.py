"""Deciding from the command line: decide and undo."""

from __future__ import annotations

from typing import Any

import click

from .base import Ctx, cli, json_object, pass_ctx, say
from .items import labels


@cli.command()
@click.argument("item_id")
@click.option("--approve", is_flag=True, help="Approve the output or action.")
@click.option("--reject", is_flag=True, help="Reject it (with at least one --reason).")
@click.option("--correct-file", type=click.File("r"), help="Correct an output: the corrected text.")
@click.option("--arguments", "arguments_json", metavar="JSON",
              help="Approve an action with these edited arguments (a JSON object).")
@click.option("--reason", "reasons", multiple=True, callback=labels,
              help="A reason from the queue's taxonomy (repeatable; reviewer queue show lists them).")
@click.option("--comment", help="A comment for the record (and the agent, for actions).")
@click.option("--confirm", metavar="TOOL", help="Approving a critical action: type its tool's name.")
@click.option("--reviewer", envvar="REVIEWER_NAME", help="Your name [env REVIEWER_NAME; default: login].")
@click.option("--decision-id", help="Idempotency key: retrying with the same id is a no-op.")
@pass_ctx
def decide(c: Ctx, item_id: str, approve: bool, reject: bool, correct_file: Any, arguments_json: str | None,
           reasons: tuple[str, ...], comment: str | None, confirm: str | None, reviewer: str | None,
           decision_id: str | None) -> None:
    """Record a decision on one item.

    \b
    reviewer decide fin-0001 --approve
    reviewer decide fin-0002 --reject --reason wrong_numbers --comment "USD figure invented"
    reviewer decide fin-0003 --correct-file fixed.txt
    reviewer decide act-0001 --arguments '{"order_id": "55120", "amount": 249.0}'
    reviewer decide act-0007 --approve --confirm transfer_funds     (a critical action)
    """
    from .. import rules
    from ..errors import Invalid
    from ..models import ActionItem, DecisionIn
    from ..rules import is_critical_action

    arguments = None if arguments_json is None else json_object(arguments_json, "--arguments")
    correction = correct_file.read() if correct_file else None
    edits = [name for name, given in (("--correct-file", correction is not None),
                                      ("--arguments", arguments is not None)) if given]
    if approve and reject:
        raise click.UsageError("choose one of --approve and --reject")
    if reject and edits:
        raise click.UsageError(f"--reject cannot come with {edits[0]}: a correction approves")
    if not (approve or reject or edits):
        raise click.UsageError("say --approve, --reject, --correct-file F or --arguments JSON")
    verdict = "reject" if reject else "correct" if edits else "approve"
    item = c.queue.get(item_id)
    settings = c.queue.queue_settings(item.queue)
    allowed = settings.reasons_for(item.kind)
    try:  # the queue refuses them too; here it is a usage error, before anything is sent
        rules.check_reasons(item.item, DecisionIn(verdict=verdict, reviewer="-", reasons=list(reasons)), settings)
    except Invalid as e:
        raise click.UsageError(f"{e}: {', '.join(allowed)}") from None
    if reject and not reasons:
        raise click.UsageError(f"a reject needs at least one --reason: {', '.join(allowed)}")
    if verdict != "reject" and is_critical_action(item.item):
        assert isinstance(item.item, ActionItem)
        if confirm != item.item.action.tool:
            raise click.UsageError(f"{item_id} is a critical action: add --confirm {item.item.action.tool} "
                                   "to approve it")
    fields: dict[str, Any] = {"verdict": verdict, "reviewer": c.reviewer(reviewer),
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

    d = c.queue.undo(item_id, c.reviewer(reviewer))
    say(f"reverted {d.reverts} on {item_id}; it is pending again")
