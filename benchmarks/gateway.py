"""The team gateway under load, idle and beside one CPU-bound process, against baselines measured
in the same run.

    python benchmarks/gateway.py [--seconds 3] [--gates 1000] [--quick]

The server is a real `reviewer serve` process (one uvicorn worker, tokens on) over a fresh
database; the clients are `HttpQueue`s in threads of this process.

- decisions/s through HttpQueue (`decide_and_next`, one request per decision, SQLite), as a
  ratio to GET /healthz (a trivial FastAPI JSON route of the same server) from one client.
  Goal: >= 0.3.
- decisions/s on PostgreSQL with 1, 2, 4 and 8 concurrent reviewers (each its own token and
  connection), and the double decisions found afterwards. Goal: grows up to the cores; 0 doubles.
- gate decision-to-unblock over HTTP (a gate long-polls its item; another client decides it):
  p50 and p95 from the decision's answer to the gate's return. Goal: p95 <= 20 ms on loopback.
- 1,000 gates waiting at once on one server: the server's resident memory with them all waiting,
  and the p95 of their release after their items are decided one by one.

Needs the `server` and `postgres` extras, and PostgreSQL on 127.0.0.1:5432 for the scaling
figure (skipped without it).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from _busy import both, header, pct, report
from _setup import child_env

from reviewer.client import HttpQueue
from reviewer.models import DecisionIn, ItemFilter, NextItem, parse_item

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`reviewer serve` on a fresh database, with tokens for `names`."""

    def __init__(self, db: str, reviewers: int = 8) -> None:
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        run = [sys.executable, "-m", "reviewer", "--db", db]
        self.tokens: dict[str, str] = {}
        for name, role in [("root", "admin"), ("agent", "agent")] + [(f"r{i}", "reviewer") for i in range(reviewers)]:
            out = subprocess.run([*run, "token", "create", "--name", name, "--role", role], capture_output=True,
                                 text=True, env=child_env(), cwd=ROOT, check=True)
            self.tokens[name] = out.stdout.strip()
        self.proc = subprocess.Popen([*run, "serve", "--port", str(self.port)], env=child_env(), cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the gateway did not start")

    def client(self, name: str) -> HttpQueue:
        return HttpQueue(self.url, self.tokens[name])

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def outputs(n: int, tag: str) -> list[Any]:
    return [parse_item({"kind": "output", "id": f"{tag}-{i}", "queue": "bench", "output": f"answer {i}"})
            for i in range(n)]


def decide_loop(q: HttpQueue, name: str, seconds: float, done: list[str]) -> None:
    """Claim, then decide-and-next until the time is up or the queue is empty."""
    then = NextItem(filter=ItemFilter(queue="bench"))
    claim = q.claim_next(name, ItemFilter(queue="bench"))
    end = time.monotonic() + seconds
    while claim is not None and time.monotonic() < end:
        item = claim.item.id
        _, claim = q.decide_and_next(item, DecisionIn(verdict="approve", reviewer=name), lease=claim.lease,
                                     then=then)
        done.append(item)


def throughput(seconds: float) -> tuple[float, float]:
    """(decisions/s, /healthz requests/s) from one client, SQLite."""
    with tempfile.TemporaryDirectory() as d:
        srv = Server(f"sqlite:///{d}/gw.db", reviewers=1)
        try:
            srv.client("agent").enqueue_many(outputs(20_000, "t"))
            with httpx.Client(base_url=srv.url) as h:
                n, end = 0, time.monotonic() + seconds
                while time.monotonic() < end:
                    h.get("/healthz")
                    n += 1
            trivial = n / seconds
            done: list[str] = []
            t = time.monotonic()
            decide_loop(srv.client("r0"), "r0", seconds, done)
            return len(done) / (time.monotonic() - t), trivial
        finally:
            srv.stop()


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=2):
            return True
    except Exception:
        return False


def scaling(seconds: float, counts: list[int]) -> dict[int, tuple[float, int]]:
    """Clients -> (decisions/s, double decisions), PostgreSQL, a fresh schema each."""
    import psycopg

    out: dict[int, tuple[float, int]] = {}
    for n in counts:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        dsn = "host=127.0.0.1 port=5432 dbname=test user=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            srv = Server(f"{PG}?options=-csearch_path%3D{schema}", reviewers=n)
            try:
                srv.client("agent").enqueue_many(outputs(20_000, "s"))
                done: list[list[str]] = [[] for _ in range(n)]
                threads = [threading.Thread(target=decide_loop, args=(srv.client(f"r{i}"), f"r{i}", seconds, done[i]))
                           for i in range(n)]
                t = time.monotonic()
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                took = time.monotonic() - t
                feed = srv.client("root").decisions_since(0, limit=100_000)
                doubles = sum(c - 1 for c in Counter(d.item_id for d in feed).values() if c > 1)
                out[n] = (sum(map(len, done)) / took, doubles)
            finally:
                srv.stop()
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return out


def unblock(requests: int) -> list[float]:
    """Seconds from a decision's answer to its gate's return, over HTTP, SQLite."""
    from reviewer import Gate

    with tempfile.TemporaryDirectory() as d:
        srv = Server(f"sqlite:///{d}/gw.db", reviewers=1)
        try:
            gate, reviewer = Gate(url=srv.url, token=srv.tokens["agent"]), srv.client("r0")
            lat: list[float] = []
            for i in range(requests):
                box: dict[str, float] = {}

                def ask(i: int = i, box: dict[str, float] = box) -> None:
                    gate.request("issue_refund", {"order_id": str(i)}, risk="high", timeout_s=60)
                    box["back"] = time.monotonic()

                th = threading.Thread(target=ask)
                th.start()
                while not (rows := reviewer.list_items(ItemFilter(kind="action", status=["pending"]))):
                    time.sleep(0.002)
                time.sleep(0.01)  # the gate is in its long poll
                reviewer.decide(rows[0].id, DecisionIn(verdict="approve", reviewer="r0"))
                decided = time.monotonic()
                th.join(30)
                lat.append(box["back"] - decided)
            return lat
        finally:
            srv.stop()


def many_gates(n: int) -> tuple[float, float, list[float]]:
    """(server RSS MB before, with `n` gates waiting; release latencies in s)."""
    with tempfile.TemporaryDirectory() as d:
        srv = Server(f"sqlite:///{d}/gw.db", reviewers=1)
        try:
            before = srv.rss_mb()
            items = [parse_item({"kind": "action", "id": f"g-{i}", "queue": "bench", "risk": "high", "timeout_s": 600,
                                 "action": {"tool": "deploy", "arguments": {"n": i}}}) for i in range(n)]
            agent = srv.client("agent")
            agent.enqueue_many(items)
            released: dict[str, float] = {}

            def wait(item_id: str, q: HttpQueue) -> None:
                q.wait_for_decision(item_id, 300)
                released[item_id] = time.monotonic()

            clients = [srv.client("agent") for _ in range(16)]  # pooled connections, as agents would hold
            threads = [threading.Thread(target=wait, args=(it.id, clients[i % 16])) for i, it in enumerate(items)]
            for th in threads:
                th.start()
            time.sleep(3)  # all in their long polls
            waiting = srv.rss_mb()
            reviewer, decided = srv.client("root"), {}
            for it in items:
                reviewer.decide(it.id, DecisionIn(verdict="approve", reviewer="root"))
                decided[it.id] = time.monotonic()
            for th in threads:
                th.join(60)
            return before, waiting, [released[i] - decided[i] for i in decided if i in released]
        finally:
            srv.stop()


def ms(s: float) -> str:
    return f"{s * 1000:6.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--requests", type=int, default=60, help="gate requests for decision-to-unblock")
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.requests, args.gates = 1.0, 20, 200
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    header("reviewer gateway")

    (dec_i, triv_i), (dec_b, triv_b) = both(throughput, args.seconds)
    report("decisions/s (SQLite)", f"{dec_i:6.0f} = {dec_i / triv_i:.2f}x /healthz ({triv_i:.0f}/s)",
           f"{dec_b:6.0f} = {dec_b / triv_b:.2f}x /healthz ({triv_b:.0f}/s)", ">= 0.3x a trivial route")

    if pg_available():
        counts = [1, 2, 4, 8]
        s_i, s_b = both(scaling, args.seconds, counts)
        for n in counts:
            report(f"  PostgreSQL, {n} clients", f"{s_i[n][0]:6.0f}/s, {s_i[n][1]} doubles",
                   f"{s_b[n][0]:6.0f}/s, {s_b[n][1]} doubles", "grows to the cores; 0 doubles")
    else:
        print("  PostgreSQL not reachable on 127.0.0.1:5432: scaling skipped")

    u_i, u_b = both(unblock, args.requests)
    report("gate unblock over HTTP", f"p50 {ms(pct(u_i, 50))} p95 {ms(pct(u_i, 95))}",
           f"p50 {ms(pct(u_b, 50))} p95 {ms(pct(u_b, 95))}", "p95 <= 20 ms")

    before, waiting, rel = many_gates(args.gates)
    print(f"{args.gates} gates waiting: server RSS {before:.0f} MB idle, {waiting:.0f} MB with them waiting; "
          f"release p50 {ms(pct(rel, 50))} p95 {ms(pct(rel, 95))}; {len(rel)} of {args.gates} released")


if __name__ == "__main__":
    main()
