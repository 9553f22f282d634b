"""Several processes claiming and deciding from one queue: nothing twice, nothing lost."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

import pytest

from reviewer.storage import SqlQueue

from factories import output
from workers import claim_and_decide, open_new_queue

N_ITEMS = 300
N_WORKERS = 4


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_parallel_claims_never_overlap(backend, request):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    q = SqlQueue.open(url)
    q.enqueue_many([output(i) for i in range(N_ITEMS)])
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(N_WORKERS), ctx.Queue()
    procs = [ctx.Process(target=claim_and_decide, args=(url, f"w{i}", start, out)) for i in range(N_WORKERS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    decided = [i for r in results for i in r]
    assert len(decided) == N_ITEMS and len(set(decided)) == N_ITEMS
    assert sum(1 for r in results if r) >= 2, "work should be shared between processes"
    assert q.stats()["decided"] == N_ITEMS
    feed = q.decisions_since(0, limit=10_000)
    assert Counter(d.item_id for d in feed).most_common(1)[0][1] == 1
    claims = Counter(a.item_id for a in q.audit(limit=100_000) if a.action == "claim")
    assert len(claims) == N_ITEMS and max(claims.values()) == 1
    q.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_opening_a_new_queue_at_once_all_get_it(backend, request, tmp_path):
    """An agent and a reviewer starting together on a fresh database: the migrations run
    once, as one transaction; the others wait and find the schema current."""
    ctx = mp.get_context("spawn")
    for round_ in range(3):
        url = (f"sqlite:///{tmp_path / f'new{round_}.db'}" if backend == "sqlite"
               else request.getfixturevalue("pg_url") if round_ == 0 else None)
        if url is None:
            break  # one fresh schema per PostgreSQL test
        start, out = ctx.Barrier(N_WORKERS), ctx.Queue()
        procs = [ctx.Process(target=open_new_queue, args=(url, start, out)) for _ in range(N_WORKERS)]
        for p in procs:
            p.start()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert results == ["ok"] * N_WORKERS


def test_the_decisions_feed_never_skips_a_decision_under_concurrent_writers(request):
    """Writers on different items do not wait for each other; a reader following the feed
    with a cursor still sees every decision exactly once."""
    import threading

    from reviewer.models import DecisionIn

    url = request.getfixturevalue("pg_url")
    q = SqlQueue.open(url)
    q.enqueue_many([output(i) for i in range(200)])
    seen: list[str] = []
    done = threading.Event()

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            page = q.decisions_since(cursor, limit=50)
            seen.extend(d.item_id for d in page)
            if page:
                cursor = page[-1].seq
            elif finished:
                return

    def write(k: int) -> None:
        w = SqlQueue.open(url)
        for i in range(k, 200, 4):
            w.decide(f"out-{i}", DecisionIn(verdict="approve", reviewer=f"w{k}"))
        w.close()

    reader = threading.Thread(target=follow)
    reader.start()
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join(60)
    assert sorted(seen) == sorted(f"out-{i}" for i in range(200))
