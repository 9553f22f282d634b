"""Per-queue settings from `reviewer.toml`: reject-reason taxonomy and guidelines.

    [queues.finchat-summaries]
    reasons = ["wrong_numbers", "hallucination", "tone"]
    guidelines = "Figures must match the source table exactly, with currency."
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

ACTION_REASONS = [
    "unsafe", "wrong_arguments", "not_requested", "policy_violation", "needs_more_context",
    "prompt_injection", "other",
]  # fmt: skip
DEFAULT_REASONS = [
    "hallucination", "unfaithful_to_context", "wrong_numbers", "pii_leak", "policy_violation",
    "prompt_injection", "tone", "format", "incomplete", "other",
]  # fmt: skip


class QueueSettings(BaseModel):
    reasons: list[str] | None = Field(
        default=None, description="Reject reason labels offered by the picker "
        "(default: an output taxonomy, or an action one for agent actions).")
    guidelines: str | None = Field(default=None, description="Shown on the review screen.")
    two_approvers: bool = Field(default=False,
                                description="Critical actions need two distinct approvers.")


class Settings(BaseModel):
    queues: dict[str, QueueSettings] = Field(default_factory=dict)

    def for_queue(self, name: str) -> QueueSettings:
        return self.queues.get(name) or QueueSettings()

    def reasons(self, queue: str, kind: str) -> list[str]:
        """The reject reasons for an item of `kind` in `queue`."""
        own = self.for_queue(queue).reasons
        return own or list(ACTION_REASONS if kind == "action" else DEFAULT_REASONS)


def load_settings(config: dict[str, Any] | None = None) -> Settings:
    """Settings from the loaded `reviewer.toml` (see reviewer.config.load_config)."""
    if config is None:
        from .config import load_config

        config = load_config()
    return Settings.model_validate({"queues": config.get("queues", {})})
