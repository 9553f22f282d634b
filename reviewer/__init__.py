"""reviewer: human review of LLM outputs and approval gates for agent actions.

Imports stay light: the wire models and the gate SDK never pull in textual, sqlalchemy or
litellm. Heavier pieces load on first use (PEP 562).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ActionItem": "reviewer.models",
    "OutputItem": "reviewer.models",
    "DecisionIn": "reviewer.models",
    "Decision": "reviewer.models",
    "ItemFilter": "reviewer.models",
    "parse_item": "reviewer.models",
    "ReviewQueue": "reviewer.queue",
    "open_queue": "reviewer.config",
    "ReviewerError": "reviewer.errors",
    "Gate": "reviewer.gate",
    "GateDecision": "reviewer.gate",
    "ActionRejected": "reviewer.gate",
    "Policy": "reviewer.policy",
    "load_policy": "reviewer.policy",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reviewer' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
