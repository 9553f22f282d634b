"""Decision-to-unblock latency and the waiting agent's CPU use, across processes.

    python benchmarks/gate.py [--requests 200]

An agent process calls `Gate.request` in a loop; this process plays the reviewer and decides
each request as soon as it appears. Latency is the time from the decision's commit to the
agent's return (wall clock, same machine). Then the agent makes one request that nobody
decides for 5 s and reports its CPU time over that wait.

Targets (issue 4): p95 decision-to-unblock <= 50 ms; the wait uses < 5% of a core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AGENT = """
import json, sys, time, resource
from reviewer import Gate
gate = Gate(db=sys.argv[1], agent="bench")
n = int(sys.argv[2])
for i in range(n):
    d = gate.request("issue_refund", {"order_id": str(i), "amount": 10.0}, risk="high", timeout_s=60)
    print(json.dumps({"id": d.item_id, "returned": time.time(), "approved": d.approved}), flush=True)
cpu0, wall0 = time.process_time(), time.monotonic()
d = gate.request("shell", {"command": "idle"}, timeout_s=60)
cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
print(json.dumps({"idle_cpu": cpu, "idle_wall": wall, "approved": d.approved}), flush=True)
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds the last request waits")
    args = ap.parse_args()

    from reviewer.models import DecisionIn, ItemFilter
    from storage import SqlQueue

    path = Path(tempfile.mkdtemp()) / "gate.db"
    q = SqlQueue.open(f"sqlite:///{path}")
    agent = subprocess.Popen([sys.executable, "-c", AGENT, str(path), str(args.requests)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    decided: dict[str, float] = {}
    pending = ItemFilter(kind="action", status=["pending"])
    while len(decided) < args.requests:
        rows = q.list(pending, limit=10)
        for row in rows:
            q.decide(row.id, DecisionIn(verdict="approve", reviewer="bench-reviewer"))
            decided[row.id] = time.time()
        if not rows:
            time.sleep(0.001)
    # the idle request: leave it alone for a while, then approve it
    while not (rows := q.list(pending, limit=1)):
        time.sleep(0.01)
    time.sleep(args.idle)
    q.decide(rows[0].id, DecisionIn(verdict="approve", reviewer="bench-reviewer"))

    latencies, idle = [], {}
    out, _ = agent.communicate(timeout=120)
    for line in out.splitlines():
        rec = json.loads(line)
        if "idle_cpu" in rec:
            idle = rec
        else:
            assert rec["approved"]
            latencies.append(rec["returned"] - decided[rec["id"]])
    print(f"decision-to-unblock: p50 {pct(latencies, 50) * 1000:5.1f} ms  p95 {pct(latencies, 95) * 1000:5.1f} ms "
          f"over {len(latencies)} requests (target p95 <= 50 ms)")
    share = idle["idle_cpu"] / idle["idle_wall"]
    print(f"agent CPU while waiting: {idle['idle_cpu'] * 1000:.0f} ms over {idle['idle_wall']:.1f} s "
          f"= {share:.1%} of a core (target < 5%)")


if __name__ == "__main__":
    main()
