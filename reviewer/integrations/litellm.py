"""Auto-flagging from a live app: a litellm callback that sends flagged outputs to the queue.

    import litellm
    from reviewer.integrations.litellm import Flagger

    flagger = Flagger(queue="support-bot", sample_rate=0.01, guardrail=my_check)
    litellm.callbacks = [flagger]          # the one line an app adds

After each completion the rules decide whether its output goes to the queue:
- `guardrail(messages, output)` returns a reason (`guardrail.pii`) or None;
- `judge(messages, output)` returns a score, and an output scoring below `threshold` is
  flagged (`judge.score`); the judge runs in the background worker, never on the request path;
- `sample_rate`: a random share of all outputs, for spot checks (`sample.random`);
- `flagger.flag_trace(trace_id, reason)` later (a user's thumbs-down): the recent completion
  with that trace id (`metadata={"trace_id": ...}`, else litellm's call id) is flagged.

Flagged outputs are enqueued with the conversation, the model, the cost, the latency and the
trace id, to the local queue or a gateway (as `Gate` finds them). The app's own call is never
slowed or broken: the callback only puts a small record on a bounded queue, a background
thread does the rest, and what does not fit is dropped and counted (`flagger.dropped`).
"""

from __future__ import annotations

import queue as stdq
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

Guardrail = Callable[[list[dict[str, Any]], str], "str | None"]
Judge = Callable[[list[dict[str, Any]], str], float]
RECENT = 1000  # completions remembered by trace id, for flags that come later


@dataclass
class Completion:
    """What the callback keeps of one completion (no litellm objects cross threads)."""

    call_id: str
    trace_id: str
    messages: list[dict[str, Any]]
    output: str
    model: str | None
    cost_usd: float | None
    latency_ms: float | None
    reasons: list[tuple[str, float | None]] = field(default_factory=list)


def _completion(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> Completion | None:
    try:
        output = response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return None
    meta = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    call_id = str(kwargs.get("litellm_call_id") or getattr(response, "id", "") or id(response))
    latency = (end - start).total_seconds() * 1000 if isinstance(start, datetime) and isinstance(end, datetime) else None
    messages = [{"role": m.get("role", "user"), "content": m.get("content")} for m in kwargs.get("messages") or []
                if isinstance(m, dict) and isinstance(m.get("content"), str)]
    return Completion(call_id, str(meta.get("trace_id") or call_id), messages, output, kwargs.get("model"),
                      kwargs.get("response_cost"), latency)


class Flagger(CustomLogger):
    """A litellm callback that queues flagged outputs for review; see the module docstring."""

    def __init__(self, *, queue: str = "default", guardrail: Guardrail | None = None, judge: Judge | None = None,
                 threshold: float = 0.5, sample_rate: float = 0.0, bound: int = 10_000, app: str = "litellm",
                 db: str | None = None, url: str | None = None, token: str | None = None,
                 sink: Callable[[Any], None] | None = None) -> None:
        super().__init__()
        self.queue_name, self.guardrail, self.judge = queue, guardrail, judge
        self.threshold, self.sample_rate, self.app = threshold, sample_rate, app
        self._where = (db, url, token)
        self._sink = sink  # where items go; by default the queue `Gate` would use
        self._work: stdq.Queue[Completion | None] = stdq.Queue(maxsize=bound)
        self._recent: OrderedDict[str, Completion] = OrderedDict()
        self._lock = threading.Lock()
        self.seen = 0  # completions handed to the flagger
        self.dropped = 0  # completions not reviewed because the bounded queue was full
        self.failed = 0  # flagged outputs the queue refused or could not be reached for
        self.enqueued = 0
        self._thread = threading.Thread(target=self._run, name="reviewer-flagger", daemon=True)
        self._thread.start()

    # -- the request path: cheap, never raises ---------------------------------------------

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.seen += 1
        try:
            c = _completion(kwargs, response_obj, start_time, end_time)
            if c is None:
                return
            with self._lock:
                self._recent[c.trace_id] = c
                while len(self._recent) > RECENT:
                    self._recent.popitem(last=False)
            self._put(c)
        except Exception:  # the app's call must never break on our account
            self.failed += 1

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)

    def flag_trace(self, trace_id: str, reason: str = "user.thumbs_down", score: float | None = None) -> bool:
        """Flag a recent completion later (a user's thumbs-down); False if it is not known."""
        with self._lock:
            c = self._recent.get(trace_id)
        if c is None:
            return False
        flagged = Completion(**{**c.__dict__, "reasons": [(reason, score)]})
        self._put(flagged)
        return True

    def _put(self, c: Completion) -> None:
        try:
            self._work.put_nowait(c)
        except stdq.Full:
            self.dropped += 1

    # -- the background worker -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            c = self._work.get()
            try:
                if c is None:
                    return
                reasons = c.reasons or self._rules(c)
                if reasons:
                    self._enqueue(c, reasons)
            except Exception:
                self.failed += 1
            finally:
                self._work.task_done()

    def _rules(self, c: Completion) -> list[tuple[str, float | None]]:
        reasons: list[tuple[str, float | None]] = []
        if self.guardrail is not None and (why := self.guardrail(c.messages, c.output)):
            reasons.append((why, None))
        if self.judge is not None:
            score = float(self.judge(c.messages, c.output))
            if score < self.threshold:
                reasons.append(("judge.score", score))
        if self.sample_rate and random.random() < self.sample_rate:
            reasons.append(("sample.random", None))
        return reasons

    def _enqueue(self, c: Completion, reasons: list[tuple[str, float | None]]) -> None:
        from ..models import parse_item

        item = parse_item({
            "kind": "output", "id": f"litellm-{c.call_id}-{reasons[0][0]}", "queue": self.queue_name,
            "output": c.output, "input": {"messages": c.messages},
            "flags": [{"reason": r, "score": s} for r, s in reasons],
            "source": {"app": self.app, "trace_id": c.trace_id, "model": c.model, "provider": "litellm",
                       "cost_usd": c.cost_usd, "latency_ms": c.latency_ms},
        })
        try:
            if self._sink is not None:
                self._sink(item)
            else:
                self._queue().enqueue(item, actor=self.app)
            self.enqueued += 1
        except Exception:
            self.failed += 1

    def _queue(self) -> Any:
        if not hasattr(self, "_q"):
            from ..gate import Gate

            db, url, token = self._where
            self._q = Gate(db, url=url, token=token, agent=self.app).queue
        return self._q

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything handed to the flagger so far is processed; False on timeout."""
        done = threading.Event()

        def wait() -> None:
            self._work.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout_s)
