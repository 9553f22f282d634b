"""The queue's domain rules: plain functions over the wire models, no database.

Every `ReviewQueue` implementation calls these, so a rule has one definition whatever stores
the queue.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from .errors import Conflict, Invalid
from .vocab import SETTLED

if TYPE_CHECKING:
    from .models import (
        ActionItem,
        Decision,
        DecisionIn,
        ItemSummary,
        OutputItem,
        QueueItem,
        QueueSettings,
        Suggestion,
    )

APPROVALS = ("approve", "correct")

DecidedBy = Literal["human", "policy", "system"]
"""Who settled an item, as stored with each decision: a reviewer, a policy rule, or the
queue itself (a deadline). Never derived from a name."""

SYSTEM = "system"
POLICY_PREFIX = "policy:"


_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0") | {chr(c) for c in range(0x180B, 0x1810)} | \
    {chr(c) for c in range(0xFE00, 0xFE10)} | {chr(c) for c in range(0xE0100, 0xE01F0)}
"""Default-ignorable characters outside category Cf (fillers, joiners, variation selectors)."""


@cache
def _lookalikes() -> dict[str, list[str]]:
    """The Unicode confusables data that `confusable_homoglyphs` ships: each character or
    sequence to those it is confusable with (pairs, both ways)."""
    from importlib.resources import files

    text = files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    text = text.replace("\\u200e", "").replace("\\u200f", "")  # direction marks around RTL characters
    return {k: [v["c"] for v in vs] for k, vs in json.loads(text).items()}


@cache
def _prototype(c: str) -> str:
    """One representative of the characters `c` is confusable with: the pair's prototype where
    the data shows it (the one with many lookalikes, or a sequence: sources are single
    characters), else the smaller of the two."""
    data = _lookalikes()
    near = data.get(c)
    if not near:
        return c
    rank = lambda t: (-len(data.get(t, ())), -len(t), not t.isascii(), t)  # noqa: E731
    return min([c, *near], key=rank)


def _skeleton(text: str) -> str:
    return unicodedata.normalize("NFD", "".join(_prototype(c) for c in unicodedata.normalize("NFD", text)))


@cache
def name_key(name: str) -> str:
    """The one form in which reviewer names are compared: NFKC, case-folded, invisible
    characters removed, spaces collapsed, then the Unicode confusable skeleton (UTS #39), so
    `Alice`, `ａｌｉｃｅ` and `alicе` (a Cyrillic e) are one name. Names are stored as typed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(c for c in text if c not in _INVISIBLE and unicodedata.category(c) != "Cf")
    text = " ".join(text.split())
    for _ in range(3):  # a prototype may fold or map again; names are short
        step = _skeleton(text).casefold()
        if step == text:
            break
        text = step
    return text


def same_name(a: str, b: str) -> bool:
    """True when two reviewer names are one person's (compared by `name_key`)."""
    return name_key(a) == name_key(b)


def is_reserved(name: str) -> bool:
    """True for names no human may take: `system` and `policy:*`, however spelled (any case,
    spacing, width, invisible characters or lookalike letters: see `name_key`)."""
    key = name_key(name)
    return key == name_key(SYSTEM) or key.startswith(name_key(POLICY_PREFIX))


def check_human(name: str) -> str:
    """`name` as a reviewer's name, or Invalid when it is reserved for the queue or policies."""
    if is_reserved(name):
        raise Invalid(f"the reviewer name {name!r} is reserved for decisions the queue or a policy makes",
                      hint="set your own name with --reviewer, REVIEWER_NAME or reviewer.toml")
    return name


def check_shape(item: OutputItem | ActionItem, d: DecisionIn | Suggestion) -> None:
    """A decision (or a judge's suggestion) fits its item: text corrections for outputs, edited arguments for actions,
    and a correction changes something."""
    from .models import OutputItem, corrected_text

    if isinstance(item, OutputItem):
        if d.arguments is not None:
            raise Invalid("arguments apply to actions; this item is an output", hint="use --correct-file")
        if d.verdict == "correct" and d.correction is None:
            raise Invalid("a correction needs the corrected text", hint="pass --correct-file FILE")
        if d.correction is not None and d.correction == corrected_text(item.output):
            raise Invalid("the correction is the same as the output", hint="approve it instead")
    else:
        if d.correction is not None:
            raise Invalid("a text correction applies to outputs; for actions edit the arguments",
                          hint="pass --arguments JSON")
        if d.verdict == "correct" and d.arguments is None:
            raise Invalid("correcting an action needs the edited arguments", hint="pass --arguments JSON")
        if d.arguments is not None and d.arguments == item.action.arguments:
            raise Invalid("the edited arguments are the same as the request", hint="approve it instead")


def check_reasons(item: OutputItem | ActionItem, d: DecisionIn | Suggestion, settings: QueueSettings) -> None:
    """A human's (or a judge's) reasons come from the queue's taxonomy (policies and deadlines give their own)."""
    allowed = settings.reasons_for(item.kind)
    unknown = [r for r in d.reasons if r not in allowed]
    if unknown:
        raise Invalid(f"reason {unknown[0]!r} is not in queue {item.queue}'s taxonomy",
                      hint=f"use one of: {', '.join(allowed)}")


def standing_decision(item: QueueItem) -> Decision | None:
    """The decision that stands: the last one not reverted, while the item is settled."""
    if item.status not in SETTLED:
        return None
    reverted = {d.reverts for d in item.decisions if d.reverts}
    for d in reversed(item.decisions):
        if d.verdict != "revert" and d.id not in reverted:
            return d
    return None


def is_critical_action(item: OutputItem | ActionItem | ItemSummary) -> bool:
    """A critical action: typed confirmation in the TUI, two approvers where the queue asks."""
    return item.kind == "action" and getattr(item, "risk", None) == "critical"


def bulk_refusal(item: OutputItem | ActionItem | ItemSummary, verdict: str) -> str | None:
    """Why `item` may not take a bulk `verdict`, or None: a critical action is approved one by
    one, after its typed confirmation."""
    if verdict in APPROVALS and is_critical_action(item):
        return "a critical action is never approved in bulk; open it and confirm it"
    return None


def batch_decision_id(batch: str, item_id: str) -> str:
    """The id of one item's decision within bulk decision `batch`: the same on every retry."""
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_OID, f"{batch}/{item_id}").hex


def needs_second_approval(item: OutputItem | ActionItem, d: DecisionIn, *, approvals: int,
                          two_approvers: bool) -> bool:
    """True when `d` is the first of the two approvals a critical action needs in a queue
    with `two_approvers`; the item then goes back to pending for a second reviewer."""
    return two_approvers and is_critical_action(item) and d.verdict in APPROVALS and approvals == 0


def second_approval(item_id: str, d: DecisionIn, current_round: list[Decision], *,
                    proposed: dict[str, Any] | None) -> DecisionIn:
    """A decision on an item that already has approvals in `current_round` (the decisions
    since the last revert): the same reviewer may not approve twice; a second approver who
    approves as is inherits the first approver's edited arguments (else the agent's,
    `proposed`); one who changes them is refused, since only arguments that two approvers
    saw may run."""
    first = [x for x in current_round if x.verdict in APPROVALS]
    if not first or d.verdict == "reject":
        return d
    if any(same_name(x.reviewer, d.reviewer) for x in first):
        raise Conflict(f"{d.reviewer} already approved {item_id}; a critical action needs a "
                       "second, different approver", hint="ask another reviewer to approve it")
    edit = approved_edit(current_round)
    runs = edit.arguments if edit is not None else proposed
    if d.arguments is None:
        return d if edit is None else d.model_copy(update={"verdict": "correct", "arguments": edit.arguments})
    if d.arguments != runs:
        who = f"{edit.reviewer} approved" if edit is not None else "the first approval kept"
        raise Conflict(f"{item_id}: these are not the arguments {who}; a second approval runs only "
                       "arguments that both approvers saw",
                       hint="approve them as they are, or reject with a comment saying what to change")
    return d


def approved_edit(current_round: list[Decision]) -> Decision | None:
    """The approval in `current_round` whose edited arguments a second approval as-is runs
    (the last one that edited them), or None when the approvals kept the agent's."""
    return next((x for x in reversed(current_round) if x.verdict in APPROVALS and x.arguments is not None), None)


def current_round(decisions: list[Decision]) -> list[Decision]:
    """The decisions since the last revert, oldest first."""
    last_revert = max((i for i, d in enumerate(decisions) if d.verdict == "revert"), default=-1)
    return decisions[last_revert + 1 :]


ReviewStep = Literal["more", "agreed", "disputed", "adjudicated"]


def review_step(item: OutputItem | ActionItem, d: DecisionIn, current_round: list[Decision],
                reviews_per_item: int) -> ReviewStep | None:
    """Where `d` leaves an output in a queue that asks `reviews_per_item` (k) reviewers, or
    None where the rule does not apply. Each review is by a different reviewer. Before the
    k-th review the item stays open (`more`); the k-th settles it when all k verdicts agree
    (`agreed`), else leaves it open, disputed, for one more reviewer to adjudicate."""
    if reviews_per_item <= 1 or item.kind != "output" or d.reviewer == SYSTEM:
        return None
    reviews = [x for x in current_round if x.verdict != "revert"]
    if any(same_name(x.reviewer, d.reviewer) for x in reviews):
        raise Conflict(f"{d.reviewer} already reviewed {getattr(item, 'id', 'this item')}; its queue "
                       f"asks {reviews_per_item} different reviewers",
                       hint="leave it to another reviewer")
    n = len(reviews) + 1
    if n < reviews_per_item:
        return "more"
    if n > reviews_per_item:
        return "adjudicated"
    return "agreed" if len({x.verdict for x in reviews} | {d.verdict}) == 1 else "disputed"


def timeout_decision(on_timeout: str | None, comment: str) -> DecisionIn:
    """What a deadline decides: a reject by `system` (reason `timeout`), or an approval where
    the action allowed it (`on_timeout = "approve"`, low and medium risk only)."""
    from .models import DecisionIn

    return DecisionIn(verdict="approve" if on_timeout == "approve" else "reject", reviewer=SYSTEM,
                      reasons=["timeout"], comment=comment)
