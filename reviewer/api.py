"""The gateway's request and response bodies beyond the wire models: one definition shared by
the server (`reviewer.server`) and its client (`reviewer.client`). Pydantic only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import (
    MAX_IDS,
    BatchIn,
    Claim,
    Decision,
    DecisionIn,
    Item,
    ItemFilter,
    Label,
    Lease,
    NextItem,
    QueueSettings,
)
from .vocab import DEFAULT_LEASE_S, MAX_BULK

MAX_WAIT_S = 30.0
"""The longest one long-poll holds a request; clients poll again until their own deadline."""

MAX_BATCH = 5000
MAX_BODY = 64 * 1024 * 1024
"""The largest request body the gateway reads (bytes): a batch of items must fit in it."""
MAX_SEQ = 2**63 - 1  # positions in the decision feed, the audit log and cursors (64-bit)
Order = Literal["priority", "age", "recent", "deadline", "triage"]
LeaseSeconds = Field(default=DEFAULT_LEASE_S, gt=0, le=86_400)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_LOOKUP = 500  # ids in one lookup request


class Lookup(_Body):
    ids: list[Label] = Field(min_length=1, max_length=MAX_LOOKUP)


class Bulk(_Body):
    """A bulk decision's body: a `BatchIn`."""

    item_ids: list[Label] = Field(min_length=1, max_length=MAX_BULK)
    decision: DecisionIn

    def batch(self) -> BatchIn:
        return BatchIn(item_ids=self.item_ids, decision=self.decision)


class Batch(_Body):
    items: list[Item] = Field(max_length=MAX_BATCH)


class ListQuery(_Body):
    filter: ItemFilter | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_SEQ)
    after: str | None = None
    order: Order = "priority"


class CountQuery(_Body):
    filter: ItemFilter | None = None


class SearchQuery(_Body):
    query: str = Field(max_length=1000)
    filter: ItemFilter | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class ClaimNext(_Body):
    reviewer: str
    where: ItemFilter | NextItem | None = None
    after: str | None = None
    backwards: bool = False
    lease_s: float = LeaseSeconds


class ClaimOne(_Body):
    reviewer: str
    lease_s: float = LeaseSeconds


class Renew(_Body):
    lease: Lease
    lease_s: float = LeaseSeconds


class Release(_Body):
    lease: Lease


class Decide(_Body):
    decision: DecisionIn
    lease: Lease | None = None


class DecideNext(_Body):
    decision: DecisionIn
    lease: Lease | None = None
    then: NextItem | None = None
    lease_s: float = LeaseSeconds


class Decided(_Body):
    decision: Decision
    next: Claim | None = None


class PolicyDecision(_Body):
    verdict: Literal["approve", "reject"]
    rule: Label


class Undo(_Body):
    reviewer: str


class Expire(_Body):
    comment: str = Field(default="deadline passed", max_length=1000)


class Position(_Body):
    position: int = Field(ge=0, le=MAX_SEQ)


class Settings(_Body):
    settings: QueueSettings


class NewToken(_Body):
    name: Label
    role: Literal["agent", "reviewer", "admin"]
    queues: list[Label] | None = Field(default=None, max_length=MAX_IDS)


class TokenInfo(BaseModel):
    id: str
    name: str
    role: str
    queues: list[str] | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class CreatedToken(BaseModel):
    token: str = Field(description="the secret: shown this once, never stored")
    id: str


class Revoked(BaseModel):
    revoked: int


class Me(_Body):
    """Who the token makes the caller."""

    name: str
    role: str
    queues: list[str] | None = None


class Problem(BaseModel):
    """Every refusal and error: the CLI's one line, its hint, and the error's kind."""

    error: str
    hint: str | None = None
    type: str = Field(description="ReviewerError subclass: Invalid, NotFound, Conflict, LeaseError, "
                      "AlreadyDecided, Expired, StorageError, Unauthorized, Forbidden")
