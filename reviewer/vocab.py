"""The queue's vocabulary: kinds, risks, statuses, verdicts, and the few numbers every layer
shares. Plain `typing` only, so the CLI's option lists and `storage.peek` read it without
loading pydantic."""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["output", "action"]
Risk = Literal["low", "medium", "high", "critical"]  # in increasing order
Verdict = Literal["approve", "reject", "correct"]
Status = Literal["pending", "claimed", "decided", "expired"]

KINDS: tuple[str, ...] = get_args(Kind)
RISKS: tuple[str, ...] = get_args(Risk)
STATUSES: tuple[str, ...] = get_args(Status)
OPEN: tuple[str, ...] = ("pending", "claimed")
SETTLED: tuple[str, ...] = ("decided", "expired")
HIGH_RISKS: tuple[str, ...] = ("high", "critical")  # may never approve themselves on timeout

ACTION_REASONS: tuple[str, ...] = (
    "unsafe", "wrong_arguments", "not_requested", "policy_violation", "needs_more_context",
    "prompt_injection", "other",
)  # fmt: skip
OUTPUT_REASONS: tuple[str, ...] = (
    "hallucination", "unfaithful_to_context", "wrong_numbers", "pii_leak", "policy_violation",
    "prompt_injection", "tone", "format", "incomplete", "other",
)  # fmt: skip
"""The reject reasons a queue offers when it names none of its own."""

STATUS_VIEWS: dict[str, tuple[str, ...] | None] = {
    "open": OPEN, "pending": ("pending",), "claimed": ("claimed",), "decided": ("decided",),
    "expired": ("expired",), "all": None,
}
"""The status choices the TUI's filter and `reviewer list --status` offer: a name, and the
statuses it means (None: any)."""

DEFAULT_LEASE_S = 300.0
"""How long a claim holds an item for its reviewer; the TUI renews it while the item is open."""


def risk_priority(risk: str) -> int:
    """The queue priority an action of `risk` gets: 0 for critical, 3 for low."""
    return len(RISKS) - 1 - RISKS.index(risk)

MAX_BULK = 5_000  # items in one bulk decision

# `reviewer export --format` names; reviewer.formats holds one builder for each
EXPORT_FORMATS = ("golden", "feedback", "openai-chat", "openai-dpo", "trl-dpo", "trl-kto", "inspect", "tool-calls",
                  "csv")
