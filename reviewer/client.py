"""`HttpQueue`: the `ReviewQueue` of a team gateway (`reviewer serve`), over HTTP with httpx.

    queue = HttpQueue("https://reviews.example.com", token="rvw_...")

The TUI, the CLI and the Gate use it exactly as they use a local queue: `open_queue()` picks it
for an `http(s)://` URL (`--gateway`, `REVIEWER_GATEWAY`, with `REVIEWER_TOKEN`). The server
enforces the rules and the identity (the token's name); errors come back as the same
exceptions a local queue raises. An unreachable gateway is a `StorageError`, so a gate fails
closed. Importing this module loads httpx and pydantic only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from . import api, errors
from .models import (
    ActionItem,
    AuditEntry,
    BatchIn,
    BatchResult,
    Changes,
    Claim,
    Decision,
    DecisionIn,
    EnqueueResult,
    ItemFilter,
    ItemSummary,
    Lease,
    NextItem,
    OutputItem,
    QueueItem,
    QueueSettings,
    Suggestion,
)
from .outbox import Outbox, Saved
from .vocab import DEFAULT_LEASE_S, SETTLED

T = TypeVar("T")
TIMEOUT_S = 30.0
RETRY_MAX_S = 2.0
FEED_PAGE = 10_000  # the server's largest page of the decisions feed  # the longest pause between tries while the gateway is away
_ERRORS: dict[str, type[errors.ReviewerError]] = {
    cls.__name__: cls for cls in (errors.Invalid, errors.NotFound, errors.Conflict, errors.LeaseError,
                                  errors.AlreadyDecided, errors.Expired, errors.StorageError,
                                  errors.Unauthorized, errors.Forbidden)
}


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def _q(item_id: str) -> str:
    return quote(item_id, safe="")


class HttpQueue:
    """A review queue served by a gateway. Thread-safe (one httpx client, pooled)."""

    enforces_policy = True  # the gateway applies its own policy to every action it receives
    sweeps_deadlines = True  # and expires overdue actions itself (an admin's call, not a reviewer's)

    def __init__(self, url: str, token: str | None = None, *, timeout_s: float = TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None, outbox: Outbox | None = None) -> None:
        """`outbox`: where a decision goes when the gateway cannot be reached (the TUI and
        the CLI keep one per gateway); without one, such a decision raises StorageError."""
        self.url = url.rstrip("/")
        self.outbox = outbox
        headers = {"User-Agent": "reviewer-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s, transport=transport)

    def __repr__(self) -> str:
        return f"HttpQueue({self.url!r})"  # never the token

    def close(self) -> None:
        self._http.close()

    # -- one request -----------------------------------------------------------------------

    def _call(self, method: str, path: str, body: BaseModel | None = None, *, params: dict[str, Any] | None = None,
              timeout: float | None = None) -> Any:
        """The decoded JSON answer, or the server's error raised as the local exception."""
        content = body.model_dump_json(exclude_unset=False) if body is not None else None
        try:
            r = self._http.request(method, path, content=content, params=params,
                                   headers={"Content-Type": "application/json"} if content else None,
                                   timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        except httpx.TransportError as e:
            raise errors.Unreachable(f"the gateway at {self.url} is unreachable ({type(e).__name__})",
                                      hint="check --gateway / REVIEWER_GATEWAY and that `reviewer serve` runs") from e
        if r.status_code >= 400:
            raise self._error(r)
        return None if r.status_code == 204 or not r.content else r.json()

    def _error(self, r: httpx.Response) -> errors.ReviewerError:
        try:
            p = api.Problem.model_validate_json(r.content)
        except ValueError:
            return errors.StorageError(f"the gateway answered {r.status_code} without an error body",
                                       hint="is the URL a reviewer gateway?")
        return _ERRORS.get(p.type, errors.ReviewerError)(p.error, hint=p.hint)

    def _as(self, tp: Any, data: Any) -> Any:
        return _adapter(tp).validate_python(data)

    # -- the protocol ------------------------------------------------------------------------

    @property
    def tokens(self) -> RemoteTokens:
        """The gateway's tokens, managed through it (an admin token)."""
        return RemoteTokens(self)

    def whoami(self) -> api.Me:
        """The token's name, role and queues."""
        return api.Me.model_validate(self._call("GET", "/v1/me"))

    def enqueue(self, item: OutputItem | ActionItem, *, actor: str = "ingest") -> EnqueueResult:
        data = self._call("POST", "/v1/items", item, params={"actor": actor})
        return EnqueueResult.model_validate(data)

    def enqueue_many(self, items: Sequence[OutputItem | ActionItem], *, actor: str = "ingest") -> list[EnqueueResult]:
        out: list[EnqueueResult] = []
        for start in range(0, len(items), api.MAX_BATCH):
            body = api.Batch.model_construct(items=list(items[start:start + api.MAX_BATCH]))
            out += self._as(list[EnqueueResult], self._call("POST", "/v1/items/batch", body, params={"actor": actor}))
        return out

    def get(self, item_id: str) -> QueueItem:
        return QueueItem.model_validate(self._call("GET", f"/v1/items/{_q(item_id)}"))

    def get_many(self, item_ids: Sequence[str]) -> list[QueueItem]:
        out: list[QueueItem] = []
        for i in range(0, len(item_ids), api.MAX_LOOKUP):
            body = api.Lookup(ids=list(item_ids[i : i + api.MAX_LOOKUP]))
            out += [QueueItem.model_validate(x) for x in self._call("POST", "/v1/items/lookup", body)]
        return out

    def list_items(self, flt: ItemFilter | None = None, *, limit: int = 100, offset: int = 0,
                   after: str | None = None, order: str = "priority") -> list[ItemSummary]:
        body = api.ListQuery(filter=flt, limit=limit, offset=offset, after=after, order=order)
        return self._as(list[ItemSummary], self._call("POST", "/v1/items/list", body))  # type: ignore[no-any-return]

    def count(self, flt: ItemFilter | None = None) -> int:
        return int(self._call("POST", "/v1/items/count", api.CountQuery(filter=flt)))

    def stats(self) -> dict[str, int]:
        return dict(self._call("GET", "/v1/stats"))

    def facets(self) -> dict[str, list[str]]:
        return dict(self._call("GET", "/v1/facets"))

    def search(self, query: str, flt: ItemFilter | None = None, *, limit: int = 100) -> list[ItemSummary]:
        body = api.SearchQuery(query=query, filter=flt, limit=limit)
        return self._as(list[ItemSummary], self._call("POST", "/v1/items/search", body))  # type: ignore[no-any-return]

    def changes(self, since: int | None = None, *, limit: int = 500) -> Changes:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        return Changes.model_validate(self._call("GET", "/v1/changes", params=params))

    def claim_next(self, reviewer: str, where: ItemFilter | NextItem | None = None, *,
                   after: str | None = None, backwards: bool = False,
                   lease_s: float = DEFAULT_LEASE_S) -> Claim | None:
        body = api.ClaimNext(reviewer=reviewer, where=where, after=after, backwards=backwards, lease_s=lease_s)
        data = self._call("POST", "/v1/claims/next", body)
        return None if data is None else Claim.model_validate(data)

    def claim(self, item_id: str, reviewer: str, *, lease_s: float = DEFAULT_LEASE_S) -> Claim:
        body = api.ClaimOne(reviewer=reviewer, lease_s=lease_s)
        return Claim.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/claim", body))

    def renew(self, lease: Lease, *, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        return Lease.model_validate(self._call("POST", "/v1/leases/renew", api.Renew(lease=lease, lease_s=lease_s)))

    def release(self, lease: Lease) -> None:
        self._call("POST", "/v1/leases/release", api.Release(lease=lease))

    def decide(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None) -> Decision:
        body = api.Decide(decision=decision, lease=lease)
        with self._saved_if_offline(item_id, decision, lease):
            return Decision.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/decisions", body))

    def decide_and_next(self, item_id: str, decision: DecisionIn, *, lease: Lease | None = None,
                        then: NextItem | None = None,
                        lease_s: float = DEFAULT_LEASE_S) -> tuple[Decision, Claim | None]:
        body = api.DecideNext(decision=decision, lease=lease, then=then or NextItem(), lease_s=lease_s)
        with self._saved_if_offline(item_id, decision, lease):
            out = api.Decided.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/decide-and-next", body))
        return out.decision, out.next

    @contextmanager
    def _saved_if_offline(self, item_id: str, decision: DecisionIn, lease: Lease | None,
                          batch: Sequence[str] = ()) -> Iterator[None]:
        """A decision the gateway could not be asked to record goes to the outbox (an
        answer lost after the gateway recorded it is harmless: resending is idempotent)."""
        try:
            yield
        except errors.Offline:
            raise
        except errors.StorageError as e:
            if self.outbox is None or not isinstance(e, errors.Unreachable):
                raise
            self.outbox.add(item_id, decision, lease, batch)
            what = f"{len(batch):,} items" if batch else item_id
            raise errors.Offline(f"the gateway at {self.url} is unreachable: your {decision.verdict} of "
                                 f"{what} is saved and will be sent when it is back",
                                 hint="it is sent automatically; nothing to do") from e

    def send_saved(self) -> tuple[list[Decision], list[tuple[str, errors.ReviewerError]]]:
        """Send the outbox's decisions, oldest first: (recorded, refused with why). Stops at
        the first that cannot reach the gateway (still offline: it stays saved)."""
        sent: list[Decision] = []
        refused: list[tuple[str, errors.ReviewerError]] = []
        for saved in self.outbox.saved() if self.outbox is not None else []:
            if saved.batch:
                try:
                    self._send_batch(saved, sent, refused)
                except errors.StorageError:
                    break
                assert self.outbox is not None
                self.outbox.remove(saved.decision.id)
                continue
            body = api.Decide(decision=saved.decision, lease=saved.lease)
            path = f"/v1/items/{_q(saved.item_id)}/decisions"
            try:
                try:
                    sent.append(Decision.model_validate(self._call("POST", path, body)))
                except errors.LeaseError:
                    if saved.lease is None:
                        raise
                    # the lease ran out while offline: the item may be free to decide anyway
                    body = api.Decide(decision=saved.decision, lease=None)
                    sent.append(Decision.model_validate(self._call("POST", path, body)))
            except errors.StorageError:
                break
            except errors.ReviewerError as e:
                refused.append((saved.item_id, e))
            assert self.outbox is not None
            self.outbox.remove(saved.decision.id)
        return sent, refused

    def _send_batch(self, saved: Saved, sent: list[Decision],
                    refused: list[tuple[str, errors.ReviewerError]]) -> None:
        """A saved bulk decision, sent again under its own id (idempotent): the decisions it
        recorded go to `sent`, each item it could not decide to `refused`."""
        try:
            result = self._post_batch(BatchIn(item_ids=list(saved.batch), decision=saved.decision))
        except errors.StorageError:
            raise
        except errors.ReviewerError as e:
            refused.append((f"{len(saved.batch):,} items", e))
            return
        sent += [d for q in self.get_many(result.decided) for d in q.decisions if d.batch == result.batch]
        refused += [(i, errors.Conflict(why)) for i, why in result.skipped.items()]

    def decide_by_policy(self, item_id: str, verdict: str, rule: str) -> Decision:
        body = api.PolicyDecision(verdict=verdict, rule=rule)
        return Decision.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/policy-decision", body))

    def similar(self, item_id: str, *, limit: int = 100) -> list[ItemSummary]:
        rows = self._call("GET", f"/v1/items/{_q(item_id)}/similar", params={"limit": limit})
        return [ItemSummary.model_validate(r) for r in rows]

    def suggest(self, suggestion: Suggestion, *, actor: str) -> Suggestion:
        path = f"/v1/items/{_q(suggestion.item_id)}/suggestions"
        return Suggestion.model_validate(self._call("POST", path, suggestion, params={"actor": actor}))

    def decide_many(self, batch: BatchIn) -> BatchResult:
        with self._saved_if_offline("", batch.decision, None, batch.item_ids):
            return self._post_batch(batch)

    def _post_batch(self, batch: BatchIn) -> BatchResult:
        return BatchResult.model_validate(self._call("POST", "/v1/batches", batch))

    def undo_batch(self, batch: str, reviewer: str) -> BatchResult:
        body = api.Undo(reviewer=reviewer)
        return BatchResult.model_validate(self._call("POST", f"/v1/batches/{_q(batch)}/undo", body))

    def undo(self, item_id: str, reviewer: str) -> Decision:
        return Decision.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/undo", api.Undo(reviewer=reviewer)))

    def expire(self, item_id: str, comment: str = "deadline passed") -> QueueItem:
        body = api.Expire(comment=comment)
        return QueueItem.model_validate(self._call("POST", f"/v1/items/{_q(item_id)}/expire", body))

    def take_decision(self, item_id: str, *, actor: str = "agent") -> QueueItem:
        data = self._call("POST", f"/v1/items/{_q(item_id)}/final", params={"actor": actor})
        return QueueItem.model_validate(data)

    def expire_overdue(self, now: Any = None) -> list[str]:
        return list(self._call("POST", "/v1/expire-overdue"))

    def wait_for_decision(self, item_id: str, timeout_s: float) -> QueueItem:
        """Long-polls the item until it is settled or `timeout_s` has passed. A gateway that
        goes away meanwhile (a restart) is tried again, with backoff, until the deadline;
        one that stays away raises StorageError."""
        deadline = time.monotonic() + timeout_s
        pause = 0.05
        while True:
            left = max(0.0, deadline - time.monotonic())
            wait = min(left, api.MAX_WAIT_S)
            try:
                data = self._call("GET", f"/v1/items/{_q(item_id)}/decision", params={"wait": round(wait, 3)},
                                  timeout=wait + TIMEOUT_S)
            except errors.StorageError:
                if time.monotonic() + pause >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                continue
            item = QueueItem.model_validate(data)
            if item.status in SETTLED or time.monotonic() >= deadline:
                return item
            pause = 0.05

    def decisions_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Decision]:
        """The feed after `cursor`, in pages of the server's largest."""
        out: list[Decision] = []
        while len(out) < limit:
            want = min(limit - len(out), FEED_PAGE)
            page: list[Decision] = self._as(list[Decision], self._call(
                "GET", "/v1/decisions", params={"cursor": cursor, "limit": want}))
            out += page
            if len(page) < want:
                break
            cursor = page[-1].seq
        return out

    def audit(self, item_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        params: dict[str, Any] = {"limit": limit}
        if item_id is not None:
            params["item_id"] = item_id
        return self._as(list[AuditEntry], self._call("GET", "/v1/audit", params=params))  # type: ignore[no-any-return]

    def queue_settings(self, queue: str) -> QueueSettings:
        return QueueSettings.model_validate(self._call("GET", f"/v1/queues/{_q(queue)}"))

    def all_queue_settings(self) -> dict[str, QueueSettings]:
        return self._as(dict[str, QueueSettings], self._call("GET", "/v1/queues"))  # type: ignore[no-any-return]

    def set_queue_settings(self, queue: str, settings: QueueSettings, *, actor: str) -> QueueSettings:
        data = self._call("PUT", f"/v1/queues/{_q(queue)}", api.Settings(settings=settings), params={"actor": actor})
        return QueueSettings.model_validate(data)

    def get_cursor(self, name: str) -> int:
        return int(self._call("GET", f"/v1/cursors/{_q(name)}"))

    def set_cursor(self, name: str, position: int) -> None:
        self._call("PUT", f"/v1/cursors/{_q(name)}", api.Position(position=position))



class RemoteTokens:
    """`storage.tokens.Tokens`' create, list and revoke, through a gateway."""

    def __init__(self, queue: HttpQueue) -> None:
        self.queue = queue

    def create(self, name: str, role: str, queues: list[str] | None = None) -> tuple[str, str]:
        """(the secret, the token's id)."""
        body = api.NewToken.model_validate({"name": name, "role": role, "queues": queues})
        out = api.CreatedToken.model_validate(self.queue._call("POST", "/v1/tokens", body))
        return out.token, out.id

    def list(self) -> list[dict[str, Any]]:
        return [t.model_dump() for t in self.queue._as(list[api.TokenInfo], self.queue._call("GET", "/v1/tokens"))]

    def revoke(self, id_or_name: str) -> int:
        return api.Revoked.model_validate(self.queue._call("DELETE", f"/v1/tokens/{_q(id_or_name)}")).revoked
