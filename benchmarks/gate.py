"""Decision-to-unblock latency and the waiting agent's CPU use, across processes on SQLite,
idle and beside one CPU-bound process.

    python benchmarks/gate.py [--requests 200] [--idle 5] [--quick]

An agent process calls `Gate.request` in a loop; this process plays the reviewer and decides
each request shortly after it appears (after a random 0-20 ms: a human decides at a moment
unrelated to the agent's polling, and a fixed reaction time would phase-lock with it). Latency is the time from the decision's commit to the
agent's return (CLOCK_MONOTONIC, which is system-wide on Linux, so comparable across the two
processes). Then the agent makes one request that nobody decides for --idle seconds and
reports its CPU time (all its threads) over that wait.

Targets: p95 decision-to-unblock <= 5 ms idle, <= 20 ms busy; the waiting agent
uses < 0.5% of a core.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from _busy import both, header, pct, report
from _setup import child_env, scratch_dir

ROOT = Path(__file__).resolve().parents[1]
LATENCY_TARGET_MS = (5, 20)  # p95, idle and busy
CPU_TARGET = 0.005  # of one core

AGENT = """
import json, sys, time
from reviewer import Gate
gate = Gate(db=sys.argv[1], agent="bench")
n = int(sys.argv[2])
for i in range(n):
    d = gate.request("issue_refund", {"order_id": str(i), "amount": 10.0}, risk="high", timeout_s=60)
    print(json.dumps({"id": d.item_id, "returned": time.monotonic(), "approved": d.approved}), flush=True)
cpu0, wall0 = time.process_time(), time.monotonic()
d = gate.request("shell", {"command": "idle"}, timeout_s=60)
cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
print(json.dumps({"idle_cpu": cpu, "idle_wall": wall, "approved": d.approved}), flush=True)
"""


def gate_run(requests: int, idle_s: float) -> tuple[list[float], float, float]:
    """(latencies in s, agent CPU s while waiting, wait s) on a fresh SQLite queue."""
    from reviewer.models import DecisionIn, ItemFilter
    from reviewer.storage import SqlQueue

    path = scratch_dir() / "gate.db"
    q = SqlQueue.open(f"sqlite:///{path}")
    agent = subprocess.Popen([sys.executable, "-c", AGENT, str(path), str(requests)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env())
    try:
        listing = getattr(q, "list_items", None) or q.list  # renamed list -> list_items
        decided: dict[str, float] = {}
        pending = ItemFilter(kind="action", status=["pending"])
        while len(decided) < requests:
            rows = listing(pending, limit=10)
            for row in rows:
                time.sleep(random.uniform(0, 0.02))
                q.decide(row.id, DecisionIn(verdict="approve", reviewer="bench-reviewer"))
                decided[row.id] = time.monotonic()
            if not rows:
                time.sleep(0.001)
        # the idle request: leave it alone for a while, then approve it
        while not (rows := listing(pending, limit=1)):
            time.sleep(0.01)
        time.sleep(idle_s)
        q.decide(rows[0].id, DecisionIn(verdict="approve", reviewer="bench-reviewer"))
        out, _ = agent.communicate(timeout=120)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        q.close()
    latencies, idle = [], {}
    for line in out.splitlines():
        rec = json.loads(line)
        if "idle_cpu" in rec:
            idle = rec
        else:
            assert rec["approved"], rec
            latencies.append(rec["returned"] - decided[rec["id"]])
    if agent.returncode or not idle:
        raise RuntimeError(f"agent exited {agent.returncode}")
    return latencies, idle["idle_cpu"], idle["idle_wall"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds the last request waits")
    ap.add_argument("--quick", action="store_true", help="50 requests, a 3 s wait")
    args = ap.parse_args()
    requests, idle_s = (50, 3.0) if args.quick else (args.requests, args.idle)

    header("reviewer gate on SQLite")
    (lat_i, cpu_i, wall_i), (lat_b, cpu_b, wall_b) = both(gate_run, requests, idle_s)

    def lat(xs: list[float]) -> str:
        return f"p50 {pct(xs, 50) * 1000:5.1f} ms p95 {pct(xs, 95) * 1000:5.1f} ms"

    def cpu(used: float, wall: float) -> str:
        return f"{used * 1000:4.0f} ms CPU in {wall:.1f} s = {used / wall:.2%}"

    report("decision-to-unblock", lat(lat_i), lat(lat_b),
           f"p95 <= {LATENCY_TARGET_MS[0]} ms idle, <= {LATENCY_TARGET_MS[1]} ms busy, "
           f"{requests} requests")
    report("agent CPU waiting", cpu(cpu_i, wall_i), cpu(cpu_b, wall_b), f"< {CPU_TARGET:.1%} of a core")


if __name__ == "__main__":
    main()
