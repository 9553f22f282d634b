"""The gateway's HTTP API: `ReviewQueue` over JSON, versioned under `/v1`.

One route per protocol call, so each user action is one request; no route returns the whole
queue. Every route but the health checks needs a bearer token (see `access` for the roles);
in dev mode, bound to loopback only, no token is asked and names are taken as sent.
Errors are `Problem` bodies: the CLI's one line, its hint, and the error's type, which the
client raises again as the same exception.
"""


import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from reviewer import __version__, api
from reviewer.errors import (
    AlreadyDecided,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    LeaseError,
    NotFound,
    ReviewerError,
    StorageError,
    Unauthorized,
)
from reviewer.models import (
    ActionItem,
    AuditEntry,
    BatchResult,
    Changes,
    Claim,
    Decision,
    EnqueueResult,
    Item,
    ItemSummary,
    Lease,
    OutputItem,
    QueueItem,
    QueueSettings,
    Suggestion,
)
from reviewer.policy import Policy, applied
from reviewer.principal import Principal
from reviewer.storage.sql_queue import SqlQueue
from reviewer.storage.tokens import Tokens

from . import access
from .guard import RequestGuard

STATUS: list[tuple[type[ReviewerError], int]] = [
    (Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (Expired, 409), (AlreadyDecided, 409),
    (LeaseError, 409), (Conflict, 409), (Invalid, 422), (StorageError, 503), (ReviewerError, 400),
]
SWEEP_S = 1.0  # how often the server returns lapsed leases and expires overdue actions
WAITERS = 2000  # threads for long-polls (each waiting gate holds one, asleep)
POLL_S = 0.25  # how often a feed's long poll looks again
T = TypeVar("T")


def problem(e: ReviewerError) -> JSONResponse:
    code = next(c for cls, c in STATUS if isinstance(e, cls))
    body = api.Problem(error=str(e), hint=e.hint, type=type(e).__name__)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return JSONResponse(body.model_dump(), status_code=code, headers=headers)


def create_app(queue: SqlQueue, *, dev: bool = False, policy: Policy | None = None,
               sweep_s: float = SWEEP_S, max_body: int = api.MAX_BODY) -> FastAPI:
    """The API over `queue`. `dev`: no tokens (the caller binds loopback only). `policy`:
    applied to every action received, so an agent cannot skip it. `max_body`: the largest
    request body read, in bytes (only after the token is checked)."""
    tokens = Tokens(queue.engine)
    rules = policy or Policy()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WAITERS
        sweeper = asyncio.create_task(_sweep(queue, sweep_s)) if sweep_s > 0 else None
        yield
        if sweeper is not None:
            sweeper.cancel()

    app = FastAPI(title="reviewer gateway", version=__version__, lifespan=lifespan,
                  description="Human review of LLM outputs and approval of agent actions. "
                              "Every route but /healthz and /readyz needs `Authorization: Bearer <token>`.",
                  responses={k: {"model": api.Problem} for k in (401, 403, 404, 409, 422, 503)})

    @app.exception_handler(ReviewerError)
    async def _reviewer_error(_: Request, e: ReviewerError) -> JSONResponse:
        return problem(e)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return problem(Invalid(f"{where}: {first.get('msg')}" if where else str(first.get("msg")),
                               hint="see /docs for the request's shape"))

    @app.exception_handler(ValidationError)
    async def _invalid_inside(_: Request, e: ValidationError) -> JSONResponse:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        return problem(Invalid(f"{where}: {first.get('msg')}" if where else str(first.get("msg"))))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        if e.status_code == 400:  # a body that is not JSON at all: as any malformed request
            return problem(Invalid(f"the request body is not valid JSON ({e.detail})",
                                   hint="send a JSON body; see /docs for its shape"))
        body = api.Problem(error=str(e.detail), type="NotFound" if e.status_code == 404 else "ReviewerError")
        return JSONResponse(body.model_dump(), status_code=e.status_code, headers=e.headers)

    bearer = HTTPBearer(auto_error=False)

    def authenticate(secret: str | None) -> Principal:
        if dev:
            return Principal(name="dev", role="admin")
        if secret is None:
            raise Unauthorized("no token", hint="send Authorization: Bearer <token> (reviewer token create)")
        p = tokens.check(secret)
        if p is None:
            raise Unauthorized("unknown or revoked token", hint="ask an admin for a new one")
        return p

    def caller(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        """The principal the guard found before the body was read (the bearer dependency
        only documents the scheme in the OpenAPI schema)."""
        found = getattr(request.state, "principal", None)
        return found if isinstance(found, Principal) else authenticate(cred.credentials if cred else None)

    Who = Annotated[Principal, Depends(caller)]
    public = {"/healthz", "/readyz", app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(RequestGuard, authenticate=authenticate, public={p for p in public if p},
                       max_body=max_body, problem=problem)

    def name_of(p: Principal, sent: str) -> str:
        access.same_name(p, sent, dev)
        return sent

    def actor_of(p: Principal, sent: str | None) -> str:
        """Who an enqueue is recorded as: the token's name (in dev mode, the name sent)."""
        return sent if dev and sent else p.name

    # -- health -------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": api.Problem}})
    def readyz() -> dict[str, str]:
        """Readiness: the database answers and its audit chain holds."""
        queue.count()
        if (broken := queue.chain_problem()) is not None:
            raise StorageError(broken, hint="reviewer audit verify names the first broken link")
        return {"status": "ok"}

    @app.get("/v1/me", tags=["health"])
    def me(p: Who) -> api.Me:
        """Who the token makes you: its name (your identity in every request), role, queues."""
        return api.Me(name=p.name, role=p.role, queues=p.queues)

    @app.post("/v1/tokens", tags=["tokens"])
    def create_token(body: api.NewToken, p: Who) -> api.CreatedToken:
        """A new token; its secret is in this answer only."""
        access.require(p, "admin")
        if dev:  # dev mode must leave nothing behind that grants access once it is off
            raise Forbidden("dev mode mints no tokens: one would still work after a restart without --dev",
                            hint="create tokens on the gateway's database: reviewer --db URL token create")
        secret, token_id = tokens.create(body.name, body.role, body.queues)
        return api.CreatedToken(token=secret, id=token_id)

    @app.get("/v1/tokens", tags=["tokens"])
    def list_tokens(p: Who) -> list[api.TokenInfo]:
        access.require(p, "admin")
        return [api.TokenInfo.model_validate(t) for t in tokens.list()]

    @app.delete("/v1/tokens/{id_or_name}", tags=["tokens"])
    def revoke_token(id_or_name: str, p: Who) -> api.Revoked:
        """Revoke a token by id, or every live token of a name."""
        access.require(p, "admin")
        return api.Revoked(revoked=tokens.revoke(id_or_name))

    # -- items --------------------------------------------------------------------------

    def received(p: Principal, item: OutputItem | ActionItem) -> tuple[OutputItem | ActionItem, Any]:
        access.queue_allowed(p, [item.queue])
        if not isinstance(item, ActionItem):
            return item, None
        if (far := item.deadline_error(queue.clock())) is not None:
            raise Invalid(f"{item.id}: {far}" if item.id else far, hint="give timeout_s, or a nearer expires_at")
        verdict = rules.evaluate(item.action.tool, item.action.arguments)
        return applied(item, verdict), verdict

    def settle_by_policy(item: OutputItem | ActionItem, verdict: Any, result: EnqueueResult) -> None:
        if verdict is not None and verdict.action != "review" and result.outcome == "inserted":
            assert item.id is not None
            queue.decide_by_policy(item.id, "approve" if verdict.action == "allow" else "reject",
                                   verdict.rule or "default")

    @app.post("/v1/items", tags=["items"])
    def enqueue(item: Item, p: Who, actor: str | None = None) -> EnqueueResult:
        """Submit one item; idempotent by id. Actions pass the server's policy first."""
        access.require(p, "agent", "admin")
        item, verdict = received(p, item)
        result = queue.enqueue(item, actor=actor_of(p, actor))
        settle_by_policy(item, verdict, result)
        return result

    @app.post("/v1/items/batch", tags=["items"])
    def enqueue_many(body: api.Batch, p: Who, actor: str | None = None) -> list[EnqueueResult]:
        """Submit many items in one transaction; one result per item, in order."""
        access.require(p, "agent", "admin")
        checked = [received(p, i) for i in body.items]
        results = queue.enqueue_many([i for i, _ in checked], actor=actor_of(p, actor))
        for (item, verdict), result in zip(checked, results, strict=True):
            settle_by_policy(item, verdict, result)
        return results

    @app.post("/v1/items/lookup", tags=["items"])
    def get_many(body: api.Lookup, p: Who) -> list[QueueItem]:
        """Many items at once (an export reads them in pages of 500), in the order asked."""
        access.require(p, "reviewer", "admin")
        found = queue.get_many(body.ids)
        if p.role != "admin":
            access.queue_allowed(p, {x.queue for x in found})
        return found

    @app.get("/v1/items/{item_id}", tags=["items"])
    def get(item_id: str, p: Who) -> QueueItem:
        access.item_allowed(p, queue, item_id)
        return queue.get(item_id)

    @app.post("/v1/items/list", tags=["items"])
    def list_items(body: api.ListQuery, p: Who) -> list[ItemSummary]:
        """One page of items (keyset paging with `after`)."""
        access.require(p, "reviewer", "admin")
        return queue.list_items(access.scoped(p, body.filter), limit=body.limit, offset=body.offset,
                                after=body.after, order=body.order)

    @app.post("/v1/items/count", tags=["items"])
    def count(body: api.CountQuery, p: Who) -> int:
        access.require(p, "reviewer", "admin")
        return queue.count(access.scoped(p, body.filter))

    @app.post("/v1/items/search", tags=["items"])
    def search(body: api.SearchQuery, p: Who) -> list[ItemSummary]:
        """Fuzzy search, ranked, in the queue."""
        access.require(p, "reviewer", "admin")
        return queue.search(body.query, access.scoped(p, body.filter), limit=body.limit)

    @app.get("/v1/stats", tags=["items"])
    def stats(p: Who) -> dict[str, int]:
        """Counts over the token's queues."""
        access.require(p, "reviewer", "admin")
        return queue.stats(None if access.unscoped(p) else p.queues)

    @app.get("/v1/facets", tags=["items"])
    def facets(p: Who) -> dict[str, list[str]]:
        """The queues, tags and flags in use in the token's queues."""
        access.require(p, "reviewer", "admin")
        return queue.facets(None if access.unscoped(p) else p.queues)

    @app.get("/v1/changes", tags=["items"])
    async def changes(p: Who, since: Annotated[int | None, Query(ge=0, le=api.MAX_SEQ)] = None,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                      wait: Annotated[float, Query(ge=0, le=api.MAX_WAIT_S)] = 0) -> Changes:
        """What changed since a token: the TUI updates those rows instead of reloading. With
        `wait`, a long poll that answers as soon as something changes."""
        access.require(p, "reviewer", "admin")
        found = await _long_poll(lambda: queue.changes(since, limit=limit),
                                 lambda c: since is None or c.token != since, wait)
        if p.queues is not None:
            found.rows = [r for r in found.rows if p.may_use(r.queue)]
        return found

    # -- claims and decisions -------------------------------------------------------------

    @app.post("/v1/claims/next", tags=["review"])
    def claim_next(body: api.ClaimNext, p: Who) -> Claim | None:
        """Claim the next pending item of a filter or a walk; null when there is none."""
        access.require(p, "reviewer", "admin")
        return queue.claim_next(name_of(p, body.reviewer), access.scoped_next(p, queue, body.where),
                                after=body.after, backwards=body.backwards, lease_s=body.lease_s)

    @app.post("/v1/items/{item_id}/claim", tags=["review"])
    def claim(item_id: str, body: api.ClaimOne, p: Who) -> Claim:
        access.require(p, "reviewer", "admin")
        access.item_allowed(p, queue, item_id)
        return queue.claim(item_id, name_of(p, body.reviewer), lease_s=body.lease_s)

    @app.post("/v1/leases/renew", tags=["review"])
    def renew(body: api.Renew, p: Who) -> Lease:
        access.require(p, "reviewer", "admin")
        name_of(p, body.lease.reviewer)
        access.item_allowed(p, queue, body.lease.item_id)
        return queue.renew(body.lease, lease_s=body.lease_s)

    @app.post("/v1/leases/release", tags=["review"], status_code=204)
    def release(body: api.Release, p: Who) -> None:
        access.require(p, "reviewer", "admin")
        name_of(p, body.lease.reviewer)
        access.item_allowed(p, queue, body.lease.item_id)
        queue.release(body.lease)

    @app.post("/v1/items/{item_id}/decisions", tags=["review"])
    def decide(item_id: str, body: api.Decide, p: Who) -> Decision:
        """Record a decision; idempotent by decision id (a resend returns the same record)."""
        access.require(p, "reviewer", "admin")
        name_of(p, body.decision.reviewer)
        access.item_allowed(p, queue, item_id)
        return queue.decide(item_id, body.decision, lease=body.lease)

    @app.post("/v1/items/{item_id}/decide-and-next", tags=["review"])
    def decide_and_next(item_id: str, body: api.DecideNext, p: Who) -> api.Decided:
        """Record a decision and claim the next item: one request per key press."""
        access.require(p, "reviewer", "admin")
        name_of(p, body.decision.reviewer)
        access.item_allowed(p, queue, item_id)
        then = access.scoped_next(p, queue, body.then) if body.then is not None else None
        decision, nxt = queue.decide_and_next(item_id, body.decision, lease=body.lease,
                                              then=then, lease_s=body.lease_s)  # type: ignore[arg-type]
        return api.Decided(decision=decision, next=nxt)

    @app.post("/v1/items/{item_id}/policy-decision", tags=["review"])
    def decide_by_policy(item_id: str, body: api.PolicyDecision, p: Who) -> Decision:
        """Settle an action by a policy rule (admin: the server applies its own policy)."""
        access.require(p, "admin")
        return queue.decide_by_policy(item_id, body.verdict, body.rule)

    @app.post("/v1/items/{item_id}/undo", tags=["review"])
    def undo(item_id: str, body: api.Undo, p: Who) -> Decision:
        """Revert the item's last decision; a reviewer may revert only its own."""
        access.require(p, "reviewer", "admin")
        access.item_allowed(p, queue, item_id)
        if p.role != "admin" and not dev:
            last = queue.get(item_id).decisions
            if last and last[-1].reviewer != p.name:
                raise Forbidden(f"the last decision on {item_id} is {last[-1].reviewer}'s, not yours",
                                hint="only its reviewer or an admin can undo it")
        return queue.undo(item_id, name_of(p, body.reviewer))

    @app.get("/v1/items/{item_id}/similar", tags=["review"])
    def similar(item_id: str, p: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ItemSummary]:
        """Open near-duplicates of an item in its queue, nearest first."""
        access.require(p, "reviewer", "admin")
        access.item_allowed(p, queue, item_id)
        return queue.similar(item_id, limit=limit)

    @app.post("/v1/items/{item_id}/suggestions", tags=["review"])
    def suggest(item_id: str, body: Suggestion, p: Who, actor: str | None = None) -> Suggestion:
        """Store a judge's suggestion for the item (never a decision), recorded as posted by
        the token's name; it replaces the one of the same model and prompt version only if
        the same name posted that one."""
        access.require(p, "reviewer", "admin")
        if body.item_id != item_id:
            raise Invalid(f"the suggestion is for {body.item_id!r}, not {item_id!r}")
        access.item_allowed(p, queue, item_id)
        poster = actor_of(p, actor)
        for s in queue.get(item_id).suggestions:
            if (s.model, s.prompt_version) == (body.model, body.prompt_version) and s.by != poster:
                raise Conflict(f"{item_id} already has a suggestion of {body.model} ({body.prompt_version}), "
                               f"posted by {s.by!r}; {poster!r} may not replace it",
                               hint="post it under another model name or prompt version")
        return queue.suggest(body, actor=poster)

    @app.post("/v1/batches", tags=["review"])
    def decide_many(body: api.Bulk, p: Who) -> BatchResult:
        """Approve, or reject with reasons, many items at once (a bulk decision, idempotent by
        `decision.id`); each item the caller may not use refuses the whole batch."""
        access.require(p, "reviewer", "admin")
        name_of(p, body.decision.reviewer)
        access.ids_allowed(p, queue, body.item_ids)
        return queue.decide_many(body.batch())

    @app.post("/v1/batches/{batch}/undo", tags=["review"])
    def undo_batch(batch: str, body: api.Undo, p: Who) -> BatchResult:
        """Revert a bulk decision: each of its decisions that still stands (your own only)."""
        access.require(p, "reviewer", "admin")
        return queue.undo_batch(batch, name_of(p, body.reviewer), queues=None if access.unscoped(p) else p.queues)

    @app.post("/v1/items/{item_id}/expire", tags=["review"])
    def expire(item_id: str, body: api.Expire, p: Who) -> QueueItem:
        """Expire an open action now (a gate whose agent stopped waiting)."""
        access.require(p, "agent", "admin")
        access.item_allowed(p, queue, item_id)
        return queue.expire(item_id, body.comment)

    @app.post("/v1/items/{item_id}/final", tags=["gate"])
    def take_decision(item_id: str, p: Who, actor: str | None = None) -> QueueItem:
        """The gate took the item's decision and its agent acts on it: it is final (no undo)."""
        access.require(p, "agent", "admin")
        access.item_allowed(p, queue, item_id)
        return queue.take_decision(item_id, actor=actor_of(p, actor))

    @app.post("/v1/expire-overdue", tags=["review"])
    def expire_overdue(p: Who) -> list[str]:
        """Sweep now (the server also sweeps every second)."""
        access.require(p, "admin")
        return queue.expire_overdue()

    @app.get("/v1/items/{item_id}/decision", tags=["gate"])
    async def wait_for_decision(item_id: str, p: Who,
                                wait: Annotated[float, Query(ge=0, le=api.MAX_WAIT_S)] = 0) -> QueueItem:
        """The item, once settled or after `wait` seconds (a long poll that returns the moment
        this item is decided)."""
        await _run(access.item_allowed, p, queue, item_id)
        return await _run(queue.wait_for_decision, item_id, wait)

    # -- feeds, settings, cursors -----------------------------------------------------------

    @app.get("/v1/decisions", tags=["feeds"])
    async def decisions_since(p: Who, cursor: Annotated[int, Query(ge=0, le=api.MAX_SEQ)] = 0,
                              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                              wait: Annotated[float, Query(ge=0, le=api.MAX_WAIT_S)] = 0) -> list[Decision]:
        """Decisions after `cursor`, for exporters; with `wait`, a long poll until one lands."""
        access.require(p, "admin")
        return await _long_poll(lambda: queue.decisions_since(cursor, limit=limit), bool, wait)

    @app.get("/v1/audit", tags=["feeds"])
    def audit(p: Who, item_id: str | None = None,
              limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> list[AuditEntry]:
        access.require(p, "admin")
        return queue.audit(item_id, limit=limit)

    @app.get("/v1/queues", tags=["queues"])
    def all_queue_settings(p: Who) -> dict[str, QueueSettings]:
        found = queue.all_queue_settings()
        return {q: s if p.role == "admin" else s.without_secrets() for q, s in found.items() if p.may_use(q)}

    @app.get("/v1/queues/{name}", tags=["queues"])
    def queue_settings(name: str, p: Who) -> QueueSettings:
        access.queue_allowed(p, [name])
        found = queue.queue_settings(name)
        return found if p.role == "admin" else found.without_secrets()

    @app.put("/v1/queues/{name}", tags=["queues"])
    def set_queue_settings(name: str, body: api.Settings, p: Who, actor: str | None = None) -> QueueSettings:
        access.require(p, "admin")
        return queue.set_queue_settings(name, body.settings, actor=actor_of(p, actor))

    @app.get("/v1/cursors/{name}", tags=["feeds"])
    def get_cursor(name: str, p: Who) -> int:
        access.require(p, "admin")
        return queue.get_cursor(name)

    @app.put("/v1/cursors/{name}", tags=["feeds"], status_code=204)
    def set_cursor(name: str, body: api.Position, p: Who) -> None:
        access.require(p, "admin")
        queue.set_cursor(name, body.position)

    return app


async def _run(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kw))


async def _long_poll(read: Callable[[], T], ready: Callable[[T], bool], wait: float) -> T:
    """`read()` (in a thread) until `ready` says so or `wait` seconds have passed: a feed's
    long poll, looking again every POLL_S."""
    end = anyio.current_time() + wait
    while True:
        found = await _run(read)
        if ready(found) or anyio.current_time() >= end:
            return found
        await asyncio.sleep(min(POLL_S, max(0.0, end - anyio.current_time())))


async def _sweep(queue: SqlQueue, every: float) -> None:
    """Return lapsed leases and expire overdue actions, here rather than in every client."""
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(ReviewerError):
            await _run(queue.expire_overdue)

