"""The approval gate: an agent asks before a risky tool call and blocks until a human decides.

    from reviewer import Gate
    gate = Gate()                          # the same queue `reviewer` uses (REVIEWER_DB / config)
    d = gate.request("issue_refund", {"order_id": "55120", "amount": 1249.0}, risk="high", timeout_s=900)
    if d.approved:
        issue_refund(**d.arguments)        # a reviewer's edits are in d.arguments
    else:
        tell_the_model(d.feedback)

It fails closed: a deadline, an unreachable, locked or corrupt queue, or any internal error
gives `approved=False` with the cause in `feedback` and `error`. Two clocks: `timeout_s` is
the item's deadline (how long reviewers have), `wait_s` how long this call blocks (default:
until the deadline). When the agent stops waiting, its item is expired so no one approves a
call that will never run.

Importing this module loads pydantic and the policy code only; the ORM loads on first use of
the local queue.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from .errors import Conflict
from .models import MAX_TIMEOUT_S, new_id, utcnow
from .policy import Policy, Verdict, load_policy, max_risk
from .rules import POLICY_PREFIX, standing_decision
from .vocab import SETTLED, risk_priority

if TYPE_CHECKING:
    from .models import ActionItem, Decision, QueueItem
    from .queue import ReviewQueue

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TIMEOUT_S = 900.0


class GateDecision(BaseModel):
    """What the agent gets back."""

    approved: bool
    verdict: Literal["approve", "reject", "correct"]
    arguments: dict[str, Any] = Field(description="the arguments to call with (a reviewer's edits)")
    feedback: str = Field(description="the outcome phrased for a model")
    reviewer: str | None = None
    decided_by_policy: str | None = Field(default=None, description="the policy rule, if no human decided")
    item_id: str | None = None
    reasons: list[str] = Field(default_factory=list)
    comment: str | None = None
    error: str | None = Field(default=None, description="why the gate failed closed, if it did")


class ActionRejected(Exception):
    """Raised by `Gate.guard` when a call is not approved; carries the decision."""

    def __init__(self, decision: GateDecision) -> None:
        super().__init__(decision.feedback)
        self.decision = decision


def _args_text(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 500 else text[:500] + "…"


def canonical_json(value: Any) -> str:
    """One text per value: keys sorted, no spaces, values as the queue stores them (pydantic's
    JSON forms), so a call read back from the queue compares equal to the call it was."""
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(value: Any) -> str:
    """A short hash of `value`'s canonical JSON, for item ids that name one call or one thread."""
    return hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def call_hash(tool: str, arguments: dict[str, Any]) -> str:
    """The hash of the call `tool(arguments)`: the part of an item id that names the call."""
    return digest({"tool": tool, "arguments": arguments})


def call_mismatch(item: QueueItem, tool: str, arguments: dict[str, Any]) -> str | None:
    """Why `item` is not the call `tool(arguments)`, or None when it is. The call compared is
    the one the agent proposed, not a reviewer's edit of it."""
    if item.item.kind != "action":
        return f"item {item.id} is not an action"
    proposed = item.item.action
    if canonical_json([proposed.tool, proposed.arguments]) == canonical_json([tool, arguments]):
        return None
    return (f"item {item.id} holds a different call ({proposed.tool}({_args_text(proposed.arguments)})) "
            f"than {tool}({_args_text(arguments)}); its decision is not this call's")


class Gate:
    """Ask a human before running a tool. Thread-safe; share one per process."""

    def __init__(
        self,
        db: str | None = None,
        *,
        queue: ReviewQueue | None = None,
        policy: str | Path | Policy | None = None,
        url: str | None = None,
        token: str | None = None,
        agent: str = "agent",
        grace_s: float = 5.0,
    ) -> None:
        self._db = db
        self._url = url
        self._token = token
        self._queue = queue
        self._policy_arg = policy
        self._policy: Policy | None = None
        self.agent = agent
        self.grace_s = grace_s

    # -- configuration ------------------------------------------------------------------

    @property
    def queue(self) -> ReviewQueue:
        """The queue asked: a gateway's (`url`, or REVIEWER_GATEWAY, with `token` or
        REVIEWER_TOKEN), or the local one."""
        if self._queue is None:
            import os

            from .config import is_gateway, open_queue, resolve_db_url

            where = resolve_db_url(self._db, self._url)
            if is_gateway(where):
                from .client import HttpQueue

                self._queue = HttpQueue(where, token=self._token or os.environ.get("REVIEWER_TOKEN"))
            else:
                self._queue = open_queue(where)
        return self._queue

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            p = self._policy_arg
            if p is None:
                import os

                from .config import load_config

                p = os.environ.get("REVIEWER_POLICY") or load_config().get("policy")
            self._policy = p if isinstance(p, Policy) else load_policy(p) if p else Policy()
        return self._policy

    # -- requests -----------------------------------------------------------------------

    def request(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        risk: str | None = None,
        timeout_s: float | None = None,
        wait_s: float | None = None,
        rationale: str | None = None,
        context: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        preview: dict[str, Any] | None = None,
        queue: str = "default",
        trace_id: str | None = None,
    ) -> GateDecision:
        """Ask for approval and block until a decision, the deadline, or `wait_s`.

        The work runs in a helper thread, so even a queue that hangs (a lock held for
        minutes, a dead network filesystem) cannot hold the agent past its wait plus
        `grace_s`: it then gets a rejection, and the helper expires the item once it can.
        """
        arguments = dict(arguments or {})
        bad = _bad_duration("timeout_s", timeout_s) or _bad_duration("wait_s", wait_s, zero_ok=True)
        if bad:
            return self._closed(tool, arguments, bad)
        box: dict[str, Any] = {}
        abandoned = threading.Event()
        item_id = f"gate-{new_id()}"

        def run() -> None:
            try:
                box["d"] = self._request(item_id, tool, arguments, risk, timeout_s, wait_s, rationale,
                                         context, messages, preview, queue, trace_id, abandoned)
            except Exception as e:  # fail closed, whatever went wrong
                box["d"] = self._closed(tool, arguments, _cause(e), item_id)

        helper = threading.Thread(target=run, name=f"gate:{tool}", daemon=True)
        helper.start()
        limit = wait_s if wait_s is not None else (timeout_s or DEFAULT_TIMEOUT_S)
        helper.join(limit + self.grace_s)
        if helper.is_alive():
            abandoned.set()
            return self._closed(tool, arguments, f"the queue did not answer within {limit + self.grace_s:.0f} s "
                                "(locked or unreachable?)", item_id)
        decision: GateDecision = box["d"]
        return decision

    async def arequest(self, tool: str, arguments: dict[str, Any] | None = None, **kw: Any) -> GateDecision:
        """`request` for asyncio code; the wait runs in a thread and never blocks the loop."""
        return await asyncio.to_thread(self.request, tool, arguments, **kw)

    def _request(self, item_id: str, tool: str, arguments: dict[str, Any], risk: str | None,
                 timeout_s: float | None,
                 wait_s: float | None, rationale: str | None, context: dict[str, Any] | None,
                 messages: list[dict[str, Any]] | None, preview: dict[str, Any] | None, queue: str,
                 trace_id: str | None, abandoned: threading.Event) -> GateDecision:
        timeout, settled = self._submit(item_id, tool, arguments, risk, timeout_s, wait_s, rationale, context,
                                        messages, preview, queue, trace_id)
        if settled:
            return self._from_item(self.queue.get(item_id), tool, arguments)
        return self._wait(item_id, tool, arguments, timeout, wait_s, abandoned)

    def _submit(self, item_id: str, tool: str, arguments: dict[str, Any], risk: str | None,
                timeout_s: float | None, wait_s: float | None, rationale: str | None,
                context: dict[str, Any] | None, messages: list[dict[str, Any]] | None,
                preview: dict[str, Any] | None, queue: str, trace_id: str | None) -> tuple[float, bool]:
        """Queue the call (idempotent by `item_id`), or settle it by policy: (its timeout,
        whether a policy settled it)."""
        from .models import parse_item

        q = self.queue
        # a gateway applies its own policy to what it receives (an agent cannot skip it)
        verdict = Verdict("review") if getattr(q, "enforces_policy", False) else self.policy.evaluate(tool, arguments)
        risk = max_risk(risk, verdict.risk)
        timeout = timeout_s or verdict.timeout_s or DEFAULT_TIMEOUT_S
        if wait_s is not None:
            # The item's deadline is when this agent stops waiting: a decision after that
            # would approve a call that never runs, so the queue refuses it even if the
            # expiry below cannot be written at that moment (a locked database).
            timeout = min(timeout, max(wait_s, 0.001))
        data: dict[str, Any] = {
            "kind": "action", "id": item_id, "queue": queue, "risk": risk,
            "priority": risk_priority(risk), "timeout_s": timeout,
            "action": {"tool": tool, "arguments": arguments, "rationale": rationale, "preview": preview},
            "source": {"app": self.agent, "trace_id": trace_id},
            "input": {"messages": messages or []},
            "context": {"metadata": context or {}},
        }
        if verdict.on_timeout:
            data["on_timeout"] = verdict.on_timeout
        item: ActionItem = parse_item(data)  # type: ignore[assignment]
        queued = q.enqueue(item, actor=self.agent).outcome
        if queued == "conflict":  # the id is taken: by this call (resubmitted), or by another
            why = call_mismatch(q.get(item_id), tool, arguments)
            if why:
                raise Conflict(why)
        fresh = queued == "inserted"
        if verdict.action == "review":
            return timeout, False
        if fresh:
            q.decide_by_policy(item_id, "approve" if verdict.action == "allow" else "reject",
                               verdict.rule or "default")
        return timeout, True

    def submit(self, tool: str, arguments: dict[str, Any] | None = None, *, item_id: str | None = None,
               risk: str | None = None, timeout_s: float | None = None, rationale: str | None = None,
               context: dict[str, Any] | None = None, messages: list[dict[str, Any]] | None = None,
               queue: str = "default", trace_id: str | None = None) -> str:
        """Queue a call for review and return its item id without waiting, for frameworks
        that pause and resume (LangGraph's `interrupt`). Idempotent by `item_id`: submitting
        the same call again after a restart changes nothing. `outcome` gives the decision; a
        call the queue could not take (unreachable, refused, or an id that holds another
        call) is one `outcome` rejects."""
        item_id = item_id or f"gate-{new_id()}"
        bad = _bad_duration("timeout_s", timeout_s)
        if bad:
            raise ValueError(bad)
        try:
            self._submit(item_id, tool, dict(arguments or {}), risk, timeout_s, None, rationale, context,
                         messages, None, queue, trace_id)
        except Exception:  # fail closed: the item is not there, so its outcome is a reject
            pass
        return item_id

    def outcome(self, item_id: str, tool: str, arguments: dict[str, Any] | None = None) -> GateDecision:
        """The decision on a submitted call, once there is one: blocks until a reviewer or a
        policy decides, or the item's deadline passes (then it is rejected). Fails closed,
        also when the item holds a call other than `tool(arguments)`."""
        arguments = dict(arguments or {})
        try:
            item = self.queue.get(item_id)
            if item.status in SETTLED or call_mismatch(item, tool, arguments):
                return self._from_item(item, tool, arguments)
            left = (item.expires_at - utcnow()).total_seconds() if item.expires_at else DEFAULT_TIMEOUT_S
            return self._wait(item_id, tool, arguments, max(left, 0.001), None, threading.Event())
        except Exception as e:  # fail closed, whatever went wrong
            return self._closed(tool, arguments, _cause(e), item_id)

    def _wait(self, item_id: str, tool: str, arguments: dict[str, Any], timeout: float,
              wait_s: float | None, abandoned: threading.Event) -> GateDecision:
        q = self.queue
        current = q.wait_for_decision(item_id, timeout)
        if current.status in SETTLED:
            return self._from_item(current, tool, arguments)
        gave_up = abandoned.is_set() or (wait_s is not None and wait_s <= timeout)
        why = "the agent stopped waiting" if gave_up else "deadline passed"
        return self._from_item(q.expire(item_id, why), tool, arguments)

    # -- decisions ----------------------------------------------------------------------

    def _from_item(self, item: QueueItem, tool: str, arguments: dict[str, Any]) -> GateDecision:
        mismatch = call_mismatch(item, tool, arguments)
        if mismatch:
            return self._closed(tool, arguments, mismatch, item.id)
        item = self.queue.take_decision(item.id, actor=self.agent)  # final: the agent acts on it now
        d = standing_decision(item)
        if d is None:
            return self._closed(tool, arguments, f"item {item.id} is {item.status} without a decision", item.id)
        # who decided comes from the record, never from the reviewer's name
        policy = d.reviewer.removeprefix(POLICY_PREFIX) if d.by == "policy" else None
        approved = d.verdict in ("approve", "correct")
        args = d.arguments if d.verdict == "correct" and d.arguments is not None else arguments
        feedback = decision_feedback(d, tool, arguments)
        return GateDecision(approved=approved, verdict=d.verdict, arguments=args, feedback=feedback,
                            reviewer=d.reviewer, decided_by_policy=policy, item_id=item.id,
                            reasons=d.reasons, comment=d.comment)

    @staticmethod
    def _closed(tool: str, arguments: dict[str, Any], cause: str, item_id: str | None = None) -> GateDecision:
        return GateDecision(
            approved=False, verdict="reject", arguments=arguments, error=cause, item_id=item_id,
            feedback=(f"The approval gate could not get a decision for {tool} ({cause}), so the "
                      "call was not run. Do not retry it unchanged; tell the user approval failed."),
        )

    # -- decorator ----------------------------------------------------------------------

    def guard(self, tool: str | None = None, **options: Any) -> Callable[[F], F]:
        """Gate every call of a function; it runs with the approved (maybe edited) arguments.

        Raises `ActionRejected` (with `.decision.feedback`) when the call is not approved.
        Works on plain and async functions. Arguments are bound by name, so a reviewer edits
        them as a JSON object.
        """

        def wrap(fn: F) -> F:
            name = tool or fn.__name__
            sig = inspect.signature(fn)

            def gated_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                return dict(bound.arguments)

            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def agated(*args: Any, **kwargs: Any) -> Any:
                    d = await self.arequest(name, gated_args(args, kwargs), **options)
                    if not d.approved:
                        raise ActionRejected(d)
                    return await fn(**d.arguments)

                return agated  # type: ignore[return-value]

            @functools.wraps(fn)
            def gated(*args: Any, **kwargs: Any) -> Any:
                d = self.request(name, gated_args(args, kwargs), **options)
                if not d.approved:
                    raise ActionRejected(d)
                return fn(**d.arguments)

            return gated  # type: ignore[return-value]

        return wrap


def _bad_duration(name: str, value: float | None, *, zero_ok: bool = False) -> str | None:
    """Why `value` cannot be a number of seconds to wait, or None when it can."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{name} must be a finite number of seconds, got {value!r}"
    if value < 0 or (value == 0 and not zero_ok):
        return f"{name} must be positive, got {value!r}"
    if value > MAX_TIMEOUT_S:
        return f"{name} is more than {MAX_TIMEOUT_S / 86400:.0f} days, got {value!r}"
    return None


def _cause(e: Exception) -> str:
    """One line naming what went wrong, for `GateDecision.error`."""
    from pydantic import ValidationError

    if isinstance(e, ValidationError):
        from .ingest import describe

        return f"the request is not a valid item: {describe(e)}"
    return f"{type(e).__name__}: {e}"


def _sentence(text: str) -> str:
    """`text` ending with punctuation, so the next sentence of the feedback reads as one."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def decision_feedback(d: Decision, tool: str, arguments: dict[str, Any]) -> str:
    """The outcome of decision `d` on the call `tool(arguments)`, phrased for the model."""
    policy = d.reviewer.removeprefix(POLICY_PREFIX) if d.by == "policy" else None
    approved = d.verdict in ("approve", "correct")
    args = d.arguments if d.verdict == "correct" and d.arguments is not None else arguments
    if d.by == "system" and approved:
        feedback = (f"No reviewer decided the call {tool}({_args_text(arguments)}) in time "
                    f"({d.comment or 'timeout'}); it was approved on timeout, as its policy allows, "
                    "and runs without a human's review.")
    elif d.by == "system":
        feedback = (f"No reviewer approved the call {tool}({_args_text(arguments)}) in time "
                    f"({d.comment or 'timeout'}); it was not run. Do not retry it unchanged; "
                    f"tell the user it needs human approval.")
    elif policy is not None:
        feedback = (f"Policy rule {policy!r} {'allows' if approved else 'forbids'} the call {tool}. "
                    + ("" if approved else "Do not retry it; choose another approach or ask the user."))
    elif not approved:
        feedback = f"A human reviewer ({d.reviewer}) rejected the call {tool}({_args_text(arguments)})."
        if d.reasons:
            feedback += f" Reasons: {', '.join(d.reasons)}."
        if d.comment:
            feedback += f" Reviewer's comment: {_sentence(d.comment)}"
        feedback += " Do not retry the same call; adjust your approach or explain to the user."
    elif d.verdict == "correct":
        feedback = (f"Approved by {d.reviewer} with edited arguments: {_args_text(args)}. "
                    "Use exactly these arguments.")
    else:
        feedback = f"Approved by {d.reviewer}."
    if d.comment and approved and d.by == "human":
        feedback += f" Reviewer's comment: {_sentence(d.comment)}"
    return feedback
