"""`reviewer ingest` sends its queue's notifications before the process exits (within a bound),
and counts, says and records what it could not send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from test_notify import Listener

from reviewer.models import NotifyRule, QueueSettings
from reviewer.notify import FLUSH_S
from reviewer.storage import SqlQueue

pytest.importorskip("apprise")


def ingest(tmp_path, db: str, n: int, **rule) -> tuple[subprocess.CompletedProcess[str], float]:
    """Set a notification rule on queue `payments`, then ingest `n` critical actions into it
    with a real `reviewer ingest` process: its result and how long it took."""
    q = SqlQueue.open(db)
    q.set_queue_settings("payments", QueueSettings(notify=[NotifyRule(**rule)]), actor="admin")
    q.close()
    lines = [json.dumps({"kind": "action", "id": f"wire-{i}", "queue": "payments", "risk": "critical",
                         "action": {"tool": "transfer_funds", "arguments": {"amount": i}}, "timeout_s": 3600})
             for i in range(n)]
    (tmp_path / "items.jsonl").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_")}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reviewer", "--db", db, "ingest", str(tmp_path / "items.jsonl")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    return done, time.monotonic() - start


def notify_counts(db: str) -> tuple[int, int, int]:
    q = SqlQueue.open(db)
    try:
        s = q.stats()
        return s["notify_sent"], s["notify_failed"], s["notify_dropped"]
    finally:
        q.close()


def test_ingest_delivers_its_notifications_before_it_exits(tmp_path):
    hook, db = Listener(), f"sqlite:///{tmp_path / 'q.db'}"
    try:
        done, _ = ingest(tmp_path, db, 3, to=hook.url, remind=False)
        assert done.returncode == 0, done.stderr
        assert "inserted 3" in done.stdout
        assert len(hook.bodies) == 3  # already there when the process has exited: no waiting here
        assert sorted(b["title"] for b in hook.bodies) == ["reviewer: Waiting for review: critical action transfer_funds"] * 3
        assert "notifications: 3 sent, 0 failed, 0 dropped" in done.stderr
        assert notify_counts(db) == (3, 0, 0)
    finally:
        hook.close()


def test_ingest_waits_a_bounded_time_for_a_receiver_that_hangs_and_counts_what_it_dropped(tmp_path):
    hook, db = Listener(hang_s=60), f"sqlite:///{tmp_path / 'q.db'}"
    try:
        done, took = ingest(tmp_path, db, 2, to=hook.url)
        assert done.returncode == 0, done.stderr
        assert took < FLUSH_S + 10  # the bound, plus the process's start
        # neither message arrived, and neither could the two half-deadline reminders
        assert "notifications: 0 sent, 0 failed, 4 dropped" in done.stderr
        assert notify_counts(db) == (0, 0, 4)
    finally:
        hook.close()
