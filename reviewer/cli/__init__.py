"""The `reviewer` command line: one module per group of commands, one renderer.

Imports are lazy (inside the commands), so `reviewer --help` stays fast.
"""

from __future__ import annotations

from . import assist, database, decisions, exports, gateway, items, policies, queues, reports, tui  # noqa: F401  (they register commands)
from . import audit as audit  # noqa: F401  (registers reviewer audit)
from .base import cli, main, say, say_json

__all__ = ["cli", "main", "say", "say_json"]
