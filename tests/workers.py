"""Code run in child processes by the concurrency and crash tests."""

from __future__ import annotations

import sys
from typing import Any

from reviewer.models import DecisionIn
from reviewer.storage import SqlQueue


def claim_and_decide(url: str, name: str, start: Any, results: Any) -> None:
    """After `start` (a barrier), claim and approve until the queue is empty; put the ids
    this worker decided on `results`."""
    q = SqlQueue.open(url)
    done: list[str] = []
    start.wait()
    try:
        while True:
            claimed = q.claim_next(name)
            if claimed is None:
                break
            lease = claimed.lease
            q.decide(lease.item_id, DecisionIn(verdict="approve", reviewer=name), lease=lease)
            done.append(lease.item_id)
    finally:
        q.close()
        results.put(done)


def decide_forever(url: str) -> None:
    """Decide pending items one by one; the test kills this process part-way."""
    q = SqlQueue.open(url)
    print("ready", flush=True)
    while (claimed := q.claim_next("crashy")) is not None:
        lease = claimed.lease
        q.decide(lease.item_id, DecisionIn(verdict="reject", reviewer="crashy", reasons=["other"]), lease=lease)


if __name__ == "__main__":
    decide_forever(sys.argv[1])


def open_new_queue(url: str, start: Any, out: Any) -> None:
    """Open (and so create and migrate) a queue the moment the others do; report the outcome."""
    from reviewer.storage import SqlQueue

    start.wait()
    try:
        SqlQueue.open(url).count()
        out.put("ok")
    except Exception as e:
        out.put(f"{type(e).__name__}: {e}")
