"""SIGKILL in the middle of a bulk ingest or of decisions leaves a consistent database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from reviewer.models import DecisionIn
from reviewer.storage import SqlQueue

from factories import output

HERE = Path(__file__).parent


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _kill_when(proc: subprocess.Popen, db: Path, sql: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _count(db, sql) < at_least:
        assert proc.poll() is None, "the process ended before it could be killed"
        assert time.monotonic() < deadline, "no progress before the timeout"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _check_consistent(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # every item and every decision has its audit entry (same transaction)
        assert conn.execute(
            "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM audit WHERE action='enqueue')"
        ).fetchone()[0] == 0
        assert conn.execute(
            "SELECT count(*) FROM decisions WHERE id NOT IN "
            "(SELECT json_extract(detail, '$.decision') FROM audit WHERE action='decide')"
        ).fetchone()[0] == 0
        # a decided item has exactly one decision, a pending one none
        assert conn.execute(
            "SELECT count(*) FROM items i WHERE (status='decided') != "
            "((SELECT count(*) FROM decisions d WHERE d.item_id=i.id) = 1)"
        ).fetchone()[0] == 0


def test_kill_during_bulk_ingest_then_rerun_completes(tmp_path):
    db = tmp_path / "q.db"
    src = tmp_path / "items.jsonl"
    n = 30_000
    with src.open("w") as f:
        for i in range(n):
            f.write(output(i, output="x" * 400).model_dump_json(exclude_none=True) + "\n")
    cmd = [sys.executable, "-m", "reviewer", "--db", str(db), "ingest", "--batch", "500", str(src)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _kill_when(proc, db, "SELECT count(*) FROM items", 1000)
    partial = _count(db, "SELECT count(*) FROM items")
    assert 0 < partial < n, "the kill should land mid-ingest"
    assert partial % 500 == 0, "only whole batches are committed"
    _check_consistent(db)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"inserted {n - partial}, unchanged {partial}" in done.stdout
    assert _count(db, "SELECT count(*) FROM items") == n
    _check_consistent(db)


def test_kill_during_decisions_leaves_consistent_state(tmp_path):
    db = tmp_path / "q.db"
    url = f"sqlite:///{db}"
    q = SqlQueue.open(url)
    q.enqueue_many([output(i) for i in range(3000)])
    proc = subprocess.Popen([sys.executable, str(HERE / "workers.py"), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    _kill_when(proc, db, "SELECT count(*) FROM decisions", 50)
    _check_consistent(db)
    stats = q.stats()
    assert 0 < stats["decided"] < 3000
    assert stats["claimed"] <= 1  # at most the one in flight, held until its lease runs out
    # the rest of the queue is still workable
    claimed = q.claim_next("survivor")
    assert claimed is not None
    lease = claimed.lease
    q.decide(lease.item_id, DecisionIn(verdict="approve", reviewer="s"), lease=lease)
    _check_consistent(db)
    feed = q.decisions_since(0, limit=10_000)
    assert len(feed) == stats["decided"] + 1
    q.close()
