"""`reviewer suggest`: run a judge over the open items of a queue and store its suggestions.

Items are read a page at a time (keyset paging, then `get_many`), judged by at most
`concurrency` threads, and each suggestion is stored as soon as it comes back, so an
interrupted run keeps what it paid for. Items that already have a suggestion from the same
model and prompt version are skipped. One item's failure is counted and the run goes on; a
provider that cannot be reached at all (`NoProvider`) stops it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .judge import NoProvider, prompt_for
from .models import ItemFilter, QueueItem, QueueSettings, Suggestion
from .queue import ReviewQueue
from .safe_text import safe_line
from .vocab import OPEN

PAGE = 200

Judging = Callable[[QueueItem, QueueSettings], Suggestion]


@dataclass
class SuggestResult:
    suggested: int = 0
    skipped: int = 0  # already had a suggestion from this model and prompt
    failed: dict[str, str] = field(default_factory=dict)  # item id -> why
    tokens: int = 0
    cost_usd: float = 0.0
    verdicts: dict[str, int] = field(default_factory=dict)


def open_items(queue: ReviewQueue, flt: ItemFilter) -> Iterator[list[QueueItem]]:
    """The open items of `flt`, with their content, a page at a time, in priority order."""
    flt = flt.model_copy(update={"status": list(OPEN)})
    after = None
    while rows := queue.list_items(flt, limit=PAGE, after=after):
        after = rows[-1].id
        yield queue.get_many([r.id for r in rows])


def suggest(queue: ReviewQueue, judge: Judging, model: str, flt: ItemFilter, *, actor: str,
            limit: int | None = None, concurrency: int = 4,
            progress: Callable[[int, SuggestResult], None] | None = None) -> SuggestResult:
    """Judge the open items of `flt` with `judge` (at most `limit` of them; items skipped as
    already judged do not count); see the module docstring. `progress(n, so_far)` advances
    by each item passed (with `limit`: by each item judged)."""
    out = SuggestResult()
    settings: dict[str, QueueSettings] = {}
    lock, stop = threading.Lock(), threading.Event()
    fatal: list[NoProvider] = []

    def one(q: QueueItem) -> None:
        if stop.is_set():
            return
        try:
            made = queue.suggest(judge(q, settings[q.queue]), actor=actor)
        except NoProvider as e:
            fatal.append(e)
            stop.set()
            return
        except Exception as e:  # one item's failure is counted, never the end of the run
            with lock:
                out.failed[q.id] = f"{type(e).__name__}: {safe_line(str(e), 200)}"
        else:
            with lock:
                out.suggested += 1
                out.tokens += (made.tokens_in or 0) + (made.tokens_out or 0)
                out.cost_usd += made.cost_usd or 0.0
                out.verdicts[made.verdict] = out.verdicts.get(made.verdict, 0) + 1

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for page in open_items(queue, flt):
            todo: list[QueueItem] = []
            for q in page:
                if limit is not None and out.suggested + len(out.failed) + len(todo) >= limit:
                    break
                if q.queue not in settings:
                    settings[q.queue] = queue.queue_settings(q.queue)
                version = prompt_for(settings[q.queue])[1]
                if any(s.model == model and s.prompt_version == version for s in q.suggestions):
                    out.skipped += 1
                    if progress:
                        progress(0 if limit else 1, out)
                else:
                    todo.append(q)
            for _ in pool.map(one, todo):
                if progress:  # on the caller's thread
                    progress(1, out)
            if stop.is_set() or limit is not None and out.suggested + len(out.failed) >= limit:
                break
    if fatal:
        raise fatal[0]
    return out
