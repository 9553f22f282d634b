"""Who makes a request to the gateway: a token's name, role and queues.

- `agent`: enqueue items, and read, wait for and expire the items it enqueued;
- `reviewer`: read, claim, decide and undo its own decisions, in its queues;
- `admin`: everything, including queue settings, exports and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["agent", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("agent", "reviewer", "admin")


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    queues: list[str] | None = None  # None: every queue
    token_id: str | None = None

    def may_use(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues
