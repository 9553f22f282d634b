"""The queue's domain rules: plain functions over the wire models, no database.

Every `ReviewQueue` implementation calls these, so a rule has one definition whatever stores
the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .errors import Invalid

if TYPE_CHECKING:
    from .models import ActionItem, Decision, DecisionIn, OutputItem, QueueItem

DecidedBy = Literal["human", "policy", "system"]
"""Who settled an item, as stored with each decision: a reviewer, a policy rule, or the
queue itself (a deadline). Never derived from a name."""

SYSTEM = "system"
POLICY_PREFIX = "policy:"


def is_reserved(name: str) -> bool:
    """True for names no human may take: `system` and `policy:*` (any case, any spacing)."""
    low = name.strip().casefold()
    return low == SYSTEM or low.startswith(POLICY_PREFIX)


def check_human(name: str) -> str:
    """`name` as a reviewer's name, or Invalid when it is reserved for the queue or policies."""
    if is_reserved(name):
        raise Invalid(f"the reviewer name {name!r} is reserved for decisions the queue or a policy makes",
                      hint="set your own name with --reviewer, REVIEWER_NAME or reviewer.toml")
    return name


def check_shape(item: OutputItem | ActionItem, d: DecisionIn) -> None:
    """A decision fits its item: text corrections for outputs, edited arguments for actions."""
    if item.kind == "output":
        if d.arguments is not None:
            raise Invalid("arguments apply to actions; this item is an output", hint="use --correct-file")
        if d.verdict == "correct" and d.correction is None:
            raise Invalid("a correction needs the corrected text", hint="pass --correct-file FILE")
    else:
        if d.correction is not None:
            raise Invalid("a text correction applies to outputs; for actions edit the arguments",
                          hint="pass --arguments JSON")
        if d.verdict == "correct" and d.arguments is None:
            raise Invalid("correcting an action needs the edited arguments", hint="pass --arguments JSON")


def standing_decision(item: QueueItem) -> Decision | None:
    """The decision that stands: the last one not reverted, while the item is settled."""
    if item.status not in ("decided", "expired"):
        return None
    reverted = {d.reverts for d in item.decisions if d.reverts}
    for d in reversed(item.decisions):
        if d.verdict != "revert" and d.id not in reverted:
            return d
    return None
