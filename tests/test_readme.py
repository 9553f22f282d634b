"""The README's gate example runs as written: approve with an edit, and reject."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from reviewer.models import DecisionIn, ItemFilter
from reviewer.storage import SqlQueue

README = Path(__file__).resolve().parents[1] / "README.md"


def agent_code() -> str:
    block = re.search(r"```python\n(# agent\.py\n.*?)```", README.read_text(), re.S)
    assert block, "the README lost its agent example"
    return block.group(1)


def run_agent(tmp_path: Path, decide) -> str:
    db = tmp_path / "q.db"
    env = {**os.environ, "REVIEWER_DB": str(db), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", agent_code()], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    q = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists():
            q = q or SqlQueue.open(f"sqlite:///{db}")
            rows = q.list_items(ItemFilter(kind="action", status=["pending"]))
            if rows:
                decide(q, rows[0].id)
                break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.strip()


def test_readme_agent_runs_with_edited_arguments(tmp_path):
    def edit(q, item_id):
        q.decide(item_id, DecisionIn(verdict="correct", reviewer="alice",
                                     arguments={"order_id": "55120", "amount": 249.0}))

    assert run_agent(tmp_path, edit) == "refunded 249.0 on order 55120"


def test_readme_agent_hears_the_rejection(tmp_path):
    def reject(q, item_id):
        q.decide(item_id, DecisionIn(verdict="reject", reviewer="alice", reasons=["policy_violation"],
                                     comment="order total is 249"))

    out = run_agent(tmp_path, reject)
    assert out.startswith("rejected: A human reviewer (alice) rejected the call issue_refund")
    assert "policy_violation" in out and "order total is 249" in out
