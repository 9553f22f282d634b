"""Per-queue settings from `reviewer.toml`: reject-reason taxonomy and guidelines.

    [queues.finchat-summaries]
    reasons = ["wrong_numbers", "hallucination", "tone"]
    guidelines = "Figures must match the source table exactly, with currency."
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

DEFAULT_REASONS = [
    "hallucination", "unfaithful_to_context", "wrong_numbers", "pii_leak", "policy_violation",
    "prompt_injection", "tone", "format", "incomplete", "other",
]  # fmt: skip


class QueueSettings(BaseModel):
    reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_REASONS),
                               description="Reject reason labels offered by the picker.")
    guidelines: str | None = Field(default=None, description="Shown on the review screen.")
    two_approvers: bool = Field(default=False,
                                description="Critical actions need two distinct approvers.")


class Settings(BaseModel):
    queues: dict[str, QueueSettings] = Field(default_factory=dict)

    def for_queue(self, name: str) -> QueueSettings:
        return self.queues.get(name) or QueueSettings()


def load_settings(config: dict[str, Any] | None = None) -> Settings:
    """Settings from the loaded `reviewer.toml` (see reviewer.config.load_config)."""
    if config is None:
        from .config import load_config

        config = load_config()
    return Settings.model_validate({"queues": config.get("queues", {})})
