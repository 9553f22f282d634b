"""Drift replay: re-run a golden dataset's inputs on today's model and queue what changed.

`replay(lines, complete, queue, run=...)` answers each golden entry's input with `complete`
(litellm through `litellm_completer`), compares the answer with the expected output (exact
after whitespace, else rapidfuzz similarity), and enqueues the answers that changed beyond
`threshold` as flagged outputs, with the expected output as the reference (so the reviewer
sees a word-level diff), in a queue named after the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .queue import ReviewQueue
from .safe_text import safe_line

Completer = Callable[[list[dict[str, Any]]], tuple[str, float | None]]  # messages -> (answer, cost)


@dataclass
class ReplayResult:
    run: str
    queue: str
    unchanged: int = 0
    changed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # golden id (or line) -> why
    bad_lines: list[str] = field(default_factory=list)
    cost_usd: float = 0.0


def similarity(a: str, b: str) -> float:
    """0..1: how close two answers are (1 when equal after whitespace)."""
    from rapidfuzz import fuzz

    a, b = " ".join(a.split()), " ".join(b.split())
    return 1.0 if a == b else fuzz.ratio(a, b) / 100


def _entries(lines: Iterable[str], out: ReplayResult) -> list[dict[str, Any]]:
    good = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("expected_output"), str):
                raise ValueError("no expected_output (is it a golden export?)")
            if not _messages(entry):
                raise ValueError("no input messages or text")
            good.append(entry)
        except ValueError as e:
            out.bad_lines.append(f"line {n}: {safe_line(str(e), 200)}")
    return good


def _messages(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The golden input as chat messages, ending with the user's turn."""
    inp = entry.get("input") or {}
    if isinstance(inp, str):
        return [{"role": "user", "content": inp}]
    msgs = [{"role": m["role"], "content": m["content"]} for m in inp.get("messages") or []
            if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)]
    while msgs and msgs[-1]["role"] == "assistant":
        msgs.pop()
    if not msgs and isinstance(inp.get("text"), str):
        msgs = [{"role": "user", "content": inp["text"]}]
    return msgs


def replay(lines: Iterable[str], complete: Completer, queue: ReviewQueue, *, run: str, model: str,
           threshold: float = 0.9, concurrency: int = 4,
           progress: Callable[[int], None] | None = None) -> ReplayResult:
    """Re-run every golden entry in `lines`; see the module docstring."""
    from .models import parse_item

    out = ReplayResult(run=run, queue=f"replay-{run}")
    entries = _entries(lines, out)

    def one(entry: dict[str, Any]) -> tuple[dict[str, Any], str | None, float | None, str | None]:
        try:
            answer, cost = complete(_messages(entry))
            return entry, answer, cost, None
        except Exception as e:  # a provider error is counted, never the end of the run
            return entry, None, None, f"{type(e).__name__}: {safe_line(str(e), 200)}"

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for entry, answer, cost, error in pool.map(one, entries):
            gid = str(entry.get("id") or f"entry-{len(out.failed) + out.changed + out.unchanged + 1}")
            out.cost_usd += cost or 0.0
            if error is not None or answer is None:
                out.failed[gid] = error or "no answer"
            else:
                score = similarity(answer, entry["expected_output"])
                if score >= threshold:
                    out.unchanged += 1
                else:
                    queued = queue.enqueue(parse_item({
                        "kind": "output", "id": f"replay-{run}-{gid}", "queue": out.queue,
                        "output": answer, "reference": entry["expected_output"],
                        "input": {"messages": _messages(entry)},
                        "context": entry.get("context") or {},
                        "flags": [{"reason": "drift.changed", "score": round(score, 3),
                                   "detail": f"differs from the golden answer for {gid} on {model}"}],
                        "tags": ["replay", run],
                        "source": {"app": "replay", "model": model, "cost_usd": cost, "golden_id": gid},
                    }), actor="replay")
                    if queued.outcome == "conflict":
                        out.failed[gid] = (f"run {run!r} already queued another answer for it: "
                                           "give this run its own --run name")
                    else:
                        out.changed += 1
            if progress:
                progress(1)
    return out


def litellm_completer(model: str, *, mock_response: str | None = None, retries: int = 3) -> Completer:
    """Answers through litellm (retries with backoff on rate limits and errors are litellm's);
    `mock_response` answers every input with that text and calls no provider."""
    import litellm

    def complete(messages: list[dict[str, Any]]) -> tuple[str, float | None]:
        kw: dict[str, Any] = {"mock_response": mock_response} if mock_response is not None else {}
        response = litellm.completion(model=model, messages=messages, num_retries=retries, **kw)
        cost = None if mock_response is not None else (getattr(response, "_hidden_params", None) or {}).get(
            "response_cost")  # a dry run costs nothing, whatever the price list says
        return response.choices[0].message.content or "", cost

    return complete
