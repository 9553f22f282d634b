"""Deciding from the command line: decide and undo."""

from __future__ import annotations

from typing import Any

import click

from .base import Ctx, cli, json_object, pass_ctx, say


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
    from ..models import DecisionIn

    arguments = None if arguments_json is None else json_object(arguments_json, "--arguments")
    correction = correct_file.read() if correct_file else None
    if verdict is None:
        verdict = "correct" if correction is not None or arguments is not None else None
    elif verdict == "approve" and arguments is not None:
        verdict = "correct"
    if verdict is None:
        raise click.UsageError("say --approve, --reject, --correct-file F or --arguments JSON")
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
