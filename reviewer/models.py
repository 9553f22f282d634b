"""The wire format (docs/wire-format.md): items, flags, decisions, leases.

Pure pydantic, no SQLAlchemy: the SDK, the CLI, the TUI, the HTTP API and the exporters all
speak these models. Every string in an item is untrusted data and is kept byte-for-byte.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal

from .rules import DecidedBy
from .safe_text import CONTROL_CHARS
from .timefmt import utcnow
from .vocab import (
    ACTION_REASONS,
    DEFAULT_LEASE_S,
    HIGH_RISKS,
    MAX_BULK,
    OUTPUT_REASONS,
    RISKS,
    STATUSES,
    Kind,
    Risk,
    Status,
    Verdict,
)

__all__ = ["RISKS", "STATUSES", "utcnow"]  # re-exported: models and storage use them

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

_LABEL = re.compile(f"^[^{CONTROL_CHARS}\\t\\n]+$")

# What the rest of the product can store, show and decide. Anything beyond is refused when
# it arrives, with the limit in the message.
MAX_PRIORITY = 10_000
MAX_TIMEOUT_S = 30 * 24 * 3600.0
MAX_DURATION_MS = 7 * 24 * 3600 * 1000
MAX_DEPTH = 32  # nesting of objects and lists inside an item, from the item itself
MAX_KEYS = 1_000  # keys of one object, items of one list
MAX_ITEM_CHARS = 16 * 1024 * 1024  # all the strings of one item together
MAX_IDS = 1_000  # ids (or statuses, queues) in one filter, walk or token


def new_id() -> str:
    """A fresh random identifier."""
    return uuid.uuid4().hex


class _Model(BaseModel):
    # defer_build: validators are built on first use, which keeps `import reviewer.models`
    # (and so CLI and TUI start) fast. Numbers must be finite everywhere.
    model_config = ConfigDict(extra="forbid", defer_build=True, allow_inf_nan=False)


_FREE = ConfigDict(extra="allow", defer_build=True, allow_inf_nan=False)
"""Models that keep extra keys the submitter sent (provider fields, free metadata)."""


def check_label(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError("must be a non-empty string without control or bidi characters")
    return value


def corrected_text(text: str) -> str:
    """A correction as it is kept and compared: without trailing line breaks (an editor's last
    newline is not part of the answer), wherever it comes from."""
    return text.rstrip("\r\n")


def check_limits(data: Any) -> Any:
    """Refuse JSON-like data nested deeper than MAX_DEPTH, with more than MAX_KEYS entries in
    one object or list, holding a non-finite number, or with more than MAX_ITEM_CHARS of text."""
    if type(data) is dict and _chars(data, 0) > MAX_ITEM_CHARS:
        raise ValueError(f"holds more than {MAX_ITEM_CHARS:,} characters of text")
    return data


def _chars(value: dict[str, Any] | list[Any], depth: int) -> int:
    """Characters of text in free object `value` found `depth` levels into an item; raises
    ValueError at a limit (one pass, leaves inline: it runs on every item ingested)."""
    if depth >= MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    if len(value) > MAX_KEYS:
        raise ValueError(f"an object or list has {len(value):,} entries (at most {MAX_KEYS:,})")
    n = 0
    entries: Iterable[Any] = value.values() if type(value) is dict else value
    for v in entries:
        t = type(v)
        if t is str:
            n += len(v)
        elif t is dict or t is list:
            n += _chars(v, depth + 1)
        elif t is float and not math.isfinite(v):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
    if type(value) is dict:
        n += sum(map(len, value))
    return n


Label = Annotated[str, AfterValidator(check_label)]
"""A name (id, queue, tag, reason, tool, reviewer): non-empty, no control characters."""


def check_instant(value: datetime) -> datetime:
    """A time as kept: with its offset (UTC when it has none), and one that exists in UTC
    (9999-12-31T23:59:59-14:00 does not: it is in the year 10000 there)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the times the queue can store (years 1 to 9999 in UTC)") from None
    return value


Instant = Annotated[datetime, AfterValidator(check_instant)]
"""A point in time sent to the queue: aware, and representable in UTC."""


class Flag(_Model):
    """Why an item is in the queue: a dotted reason such as `judge.faithfulness`."""

    reason: Label
    score: float | None = None
    detail: str | None = None


class Message(BaseModel):
    """One chat message. Extra provider keys are kept."""

    model_config = _FREE
    role: str
    content: str | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class Input(_Model):
    """What the model was given: chat `messages`, or plain `text`."""

    messages: list[Message] = Field(default_factory=list, max_length=MAX_KEYS)
    text: str | None = None


class Document(BaseModel):
    """A retrieved document the model had as context."""

    model_config = _FREE
    id: str
    title: str | None = None
    text: str


class Context(_Model):
    documents: list[Document] = Field(default_factory=list, max_length=MAX_KEYS)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Source(BaseModel):
    """Where the item came from. Free extra keys are kept."""

    model_config = _FREE
    app: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    model: str | None = None
    provider: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None


class Preview(_Model):
    """Before/after of what an action would change (for example a file)."""

    path: str | None = None
    before: str
    after: str


class Action(_Model):
    """The tool call an agent wants to make."""

    tool: Label
    arguments: dict[str, Any] = Field(default_factory=dict)
    rationale: str | None = None
    preview: Preview | None = None


class _ItemBase(_Model):
    id: Label | None = None
    queue: Label = "default"
    priority: int = Field(default=2, ge=0, le=MAX_PRIORITY)
    tags: list[Label] = Field(default_factory=list, max_length=MAX_KEYS)
    source: Source = Field(default_factory=Source)
    flags: list[Flag] = Field(default_factory=list, max_length=MAX_KEYS)
    input: Input = Field(default_factory=Input)
    context: Context = Field(default_factory=Context)
    created_at: Instant | None = None

    @model_validator(mode="after")
    def _limits(self, info: ValidationInfo) -> _ItemBase:
        """The limits, checked on the validated item: typed fields are bounded by their types
        (and finite numbers by the config); the free objects are walked. An after-validator
        lets pydantic validate JSON straight from the text, which ingest depends on. Items
        read back from storage (context STORED) passed them when they went in."""
        if is_stored(info):
            return self
        text = self._text_chars()
        free: list[tuple[dict[str, Any] | list[Any], int]] = [
            (self.source.model_extra or {}, 1), (self.context.metadata, 2)]
        for m in self.input.messages:
            free.append((m.model_extra or {}, 3))
            free.append((m.tool_calls or [], 3))
            text += len(m.content or "") + len(m.name or "")
        for d in self.context.documents:
            free.append((d.model_extra or {}, 3))
            text += len(d.text) + len(d.title or "") + len(d.id)
        for f in self.flags:
            text += len(f.detail or "")
        text += len(self.input.text or "") + sum(_chars(c, depth) for c, depth in free)
        if text > MAX_ITEM_CHARS:
            raise ValueError(f"holds {text:,} characters of text (at most {MAX_ITEM_CHARS:,})")
        return self

    def _text_chars(self) -> int:
        """Characters of the kind's own text fields (and its free objects, checked)."""
        return 0

    def last_user_message(self) -> str:
        """The last user turn, or the plain input text."""
        for m in reversed(self.input.messages):
            if m.role == "user" and m.content:
                return m.content
        return self.input.text or ""


class OutputItem(_ItemBase):
    """A flagged LLM output."""

    kind: Literal["output"]
    output: str
    reference: str | None = None

    def _text_chars(self) -> int:
        return len(self.output) + len(self.reference or "")


class ActionItem(_ItemBase):
    """A pending agent action that needs approval before it runs."""

    kind: Literal["action"]
    action: Action
    risk: Risk = "high"
    timeout_s: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    expires_at: Instant | None = None
    on_timeout: Literal["reject", "approve"] = "reject"

    def deadline_error(self, now: datetime) -> str | None:
        """Why `expires_at` is too far from `now` (the queue's clock), or None: a deadline is
        at most MAX_TIMEOUT_S away, as `timeout_s` is."""
        if self.expires_at is not None and self.expires_at > now + timedelta(seconds=MAX_TIMEOUT_S):
            return f"expires_at: is more than {MAX_TIMEOUT_S / 86_400:.0f} days away (the longest deadline)"
        return None

    def _text_chars(self) -> int:
        a = self.action
        preview = len(a.preview.before) + len(a.preview.after) if a.preview else 0
        return len(a.rationale or "") + preview + _chars(a.arguments, 2)

    @model_validator(mode="after")
    def _timeout_approval(self) -> ActionItem:
        if self.on_timeout == "approve" and self.risk in HIGH_RISKS:
            raise ValueError(f"on_timeout 'approve' is refused for {self.risk} risk; "
                             "only low and medium risk actions may approve themselves on timeout")
        return self


Item = Annotated[OutputItem | ActionItem, Field(discriminator="kind")]


@cache
def item_adapter() -> TypeAdapter[OutputItem | ActionItem]:
    """The validator for either kind of item (built on first use)."""
    return TypeAdapter(Item)


STORED: dict[str, bool] = {"stored": True}
"""Validation context of items and decisions read back from the queue's own storage: they
were checked against the size limits on the way in, which is the costly part of reading."""


def is_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def parse_item(data: str | bytes | dict[str, Any], *, stored: bool = False) -> OutputItem | ActionItem:
    """Validate one item from JSON text or a dict; raises pydantic.ValidationError. `stored`:
    read back from the queue's storage (the size limits were checked when it was added)."""
    context = STORED if stored else None
    if isinstance(data, str | bytes):
        return item_adapter().validate_json(data, context=context)
    return item_adapter().validate_python(data, context=context)


class _Verdict(_Model):
    """What a decision and a judge's suggestion share: the size limits (not re-checked when
    read back from storage) and a correction's one line ending."""

    @model_validator(mode="before")
    @classmethod
    def _limits(cls, data: Any, info: ValidationInfo) -> Any:
        return data if is_stored(info) else check_limits(data)

    @field_validator("correction", check_fields=False)
    @classmethod
    def _one_ending(cls, text: str | None) -> str | None:
        return None if text is None else corrected_text(text)


class DecisionIn(_Verdict):
    """What a reviewer (or the system, or a policy) decides about one item."""

    id: str = Field(default_factory=new_id, description="decision id; makes decide idempotent")
    verdict: Verdict
    reviewer: Label
    reasons: list[Label] = Field(default_factory=list)
    comment: str | None = None
    correction: str | None = None
    arguments: dict[str, Any] | None = None
    scores: dict[str, float | bool | str] = Field(default_factory=dict)
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_DURATION_MS)


class Decision(DecisionIn):
    """A stored decision. `verdict` may also be `revert` (an undo of `reverts`)."""

    verdict: Verdict | Literal["revert"]  # type: ignore[assignment]
    item_id: str
    seq: int = 0
    decided_at: datetime
    reverts: str | None = None
    origin: str | None = None
    by: DecidedBy = Field(default="human", description="who decided: a human reviewer, a policy "
                          "rule or the queue itself (a deadline); recorded, never read from a name")
    batch: str | None = Field(default=None, description="the bulk decision this one was part of")


MAX_RATIONALE = 4_000


class Suggestion(_Verdict):
    """A judge's suggestion for one item, never a decision: a verdict, reasons from the
    queue's taxonomy, a correction where one applies, a short rationale and a confidence, with
    the model, the prompt version, the tokens and the cost that made it. A reviewer takes its
    correction into the editor or its reasons into the reject picker, and then decides."""

    item_id: Label
    model: Label
    prompt_version: Label
    verdict: Verdict
    reasons: list[Label] = Field(default_factory=list)
    correction: str | None = None
    arguments: dict[str, Any] | None = None
    rationale: str = Field(default="", max_length=MAX_RATIONALE)
    confidence: float = Field(ge=0, le=1)
    tokens_in: int | None = Field(default=None, ge=0)
    tokens_out: int | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    created_at: datetime | None = Field(default=None, description="set by the queue when stored")
    by: Label = Field(default="judge", description="who ran the judge")


class BatchIn(_Model):
    """One decision for many items (a bulk approve, or a bulk reject with reasons).

    `decision.id` names the batch: sending the same batch again changes nothing."""

    item_ids: list[Label] = Field(min_length=1, max_length=MAX_BULK)
    decision: DecisionIn

    @field_validator("decision")
    @classmethod
    def _approve_or_reject(cls, d: DecisionIn) -> DecisionIn:
        if d.verdict not in ("approve", "reject") or d.correction is not None or d.arguments is not None:
            raise ValueError("a bulk decision approves or rejects; corrections are made one by one")
        return d


class BatchResult(_Model):
    """What a bulk decision (or its undo) did: the items it decided (or reopened), and the
    ones it left alone, each with why."""

    batch: str
    decided: list[str] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)


class Lease(_Model):
    """A reviewer's claim on one item, valid until `expires_at`."""

    item_id: str
    token: str
    reviewer: str
    expires_at: datetime


class FlagSummary(_Model):
    reason: str
    score: float | None = None


class ItemSummary(_Model):
    """One row of the queue: what a list shows, without the (possibly huge) content."""

    id: str
    kind: Kind
    queue: str
    priority: int
    status: Status
    risk: Risk | None = None
    tool: str | None = None
    tags: list[str] = Field(default_factory=list)
    flags: list[FlagSummary] = Field(default_factory=list)
    snippet: str = ""
    created_at: datetime
    enqueued_at: datetime
    expires_at: datetime | None = None
    claimed_by: str | None = None
    lease_expires_at: datetime | None = None
    verdict: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    approvals: int = 0


class QueueItem(ItemSummary):
    """A full item: its summary plus the submitted content and its decisions."""

    item: OutputItem | ActionItem = Field(discriminator="kind")
    decisions: list[Decision] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list, description="judges' suggestions, oldest first")


class EnqueueResult(_Model):
    id: str
    outcome: Literal["inserted", "unchanged", "conflict"]
    detail: str | None = None


class AuditEntry(_Model):
    seq: int
    at: datetime
    actor: str
    action: str
    item_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    origin: str | None = None


class ItemFilter(_Model):
    """Filters for listing. Every field narrows; None means any."""

    queue: str | None = None
    queues: list[str] | None = Field(default=None, max_length=MAX_IDS,
                                     description="any of these queues (a token limited to some queues)")
    kind: Kind | None = None
    status: list[Status] | None = Field(default=None, max_length=MAX_IDS)
    risk: Risk | None = None
    tag: str | None = None
    flag: str | None = Field(default=None, description="flag reason, or a prefix ending in '.'")
    since: Instant | None = None
    until: Instant | None = None
    ids: list[str] | None = Field(default=None, max_length=MAX_IDS)


MIN_LEASE_S, MAX_LEASE_S = 30, 86_400
MAX_REVIEWS = 10


class NotifyRule(_Model):
    """Where a queue's new items are announced (an apprise URL), and which ones."""

    to: str = Field(min_length=3, max_length=2000, description="an apprise URL: slack://..., json://host/path, "
                    "mailto://..., ntfys://...")
    kinds: list[Kind] = Field(default_factory=lambda: list[Kind](["action"]), description="which kinds of item")
    min_risk: Risk | None = Field(default="high", description="actions at this risk or above")
    flags: list[Label] = Field(default_factory=list, max_length=MAX_IDS, description="outputs flagged with one of these reasons "
                               "(prefixes, such as guardrail.)")
    remind: bool = Field(default=True, description="again at half an action's deadline if nobody claimed it")

    @property
    def shown(self) -> str:
        """The target without its secrets (webhook tokens, passwords): `slack://…`."""
        scheme, _, rest = self.to.partition("://")
        host = rest.split("/")[0].split("@")[-1].split(":")[0] if scheme in ("json", "jsons", "form", "forms") else ""
        return f"{scheme}://{host}…"


class QueueSettings(_Model):
    """A queue's own rules, stored in the queue and enforced by it (never read from a
    client's config): `reviewer queue set NAME ...`."""

    two_approvers: bool = Field(default=False, description="critical actions need two distinct approvers")
    reasons: list[Label] | None = Field(
        default=None, max_length=100, description="the reject-reason taxonomy offered to reviewers "
        "(default: one for outputs, one for actions)")
    guidelines: str | None = Field(default=None, max_length=20_000, description="shown on the review screen")
    lease_s: int | None = Field(default=None, ge=MIN_LEASE_S, le=MAX_LEASE_S,
                                description=f"how long a claim holds an item (default {int(DEFAULT_LEASE_S)} s)")
    reviews_per_item: int = Field(default=1, ge=1, le=MAX_REVIEWS,
                                  description="different reviewers each output needs; disagreement leaves it disputed for one more")
    notify: list[NotifyRule] = Field(default_factory=list, max_length=20,
                                     description="where new items are announced, and which")
    judge_prompt: str | None = Field(default=None, max_length=20_000,
                                     description="the judge's prompt for this queue (default: the built-in one)")

    def reasons_for(self, kind: str) -> list[str]:
        """The reject reasons for an item of `kind` in this queue."""
        return list(self.reasons or (ACTION_REASONS if kind == "action" else OUTPUT_REASONS))

    @property
    def lease_seconds(self) -> float:
        return float(self.lease_s) if self.lease_s is not None else DEFAULT_LEASE_S

    def without_secrets(self) -> QueueSettings:
        """The settings as anyone but an admin sees them: notification targets masked."""
        return self.model_copy(update={"notify": [r.model_copy(update={"to": r.shown}) for r in self.notify]})


class Claim(_Model):
    """A claimed item: the lease that holds it, the item itself and its queue's settings
    (guidelines, reasons), in one answer."""

    lease: Lease
    item: QueueItem
    settings: QueueSettings = Field(default_factory=QueueSettings)


class NextItem(_Model):
    """Where decide-and-next looks for the next item to claim: the first claimable one after
    the decided item in `order` among items matching `filter`, or after it among `ids` (a
    list the reviewer is working through, such as search results)."""

    filter: ItemFilter | None = None
    order: Literal["triage", "priority", "age"] = "triage"
    ids: list[str] | None = Field(default=None, max_length=MAX_IDS)


class Changes(_Model):
    """What changed since a token: the new token, and the current rows of changed items."""

    token: int
    rows: list[ItemSummary] = Field(default_factory=list)
