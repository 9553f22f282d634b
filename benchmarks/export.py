"""Exports of 100k decisions in each format: rows per second against a bare `json.dumps` loop
writing the same rows (measured in the same run), and peak memory against a fifth of the
rows, idle and beside one CPU-bound process.

    python benchmarks/export.py [--items 100000] [--db PATH]

Setup: a demo queue of --items items (--db: a copy of that demo database), every item then
decided: most approved and a tenth of the outputs rejected (in bulk), one output in twenty
corrected one by one. Then, per format, in a fresh process each:
- rows/s of `reviewer.export.export` (read from the queue, build, write, fsync, rename), and
  the ratio to writing the same records with a bare `json.dumps` loop (the records already
  built, in memory). Goal: >= 0.3.
- beside it, the ratio to a naive exporter: each decision read with its item's JSON straight
  from SQLite (no ORM, no models, no formats) and written with one json.dumps per row, scaled
  to as many rows as ours wrote. It pays the reading the bare loop leaves out.
- peak memory (VmHWM) of that process, at all the rows and at a fifth of them (a database of
  --items / 5): exports stream, so it stays flat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _busy import both, header, report
from _setup import child_env, demo_db, scratch_dir

ROOT = Path(__file__).resolve().parents[1]
RATIO_GOAL = 0.3
FORMATS = ("golden", "feedback", "openai-chat", "openai-dpo", "trl-dpo", "trl-kto", "inspect", "tool-calls", "csv")

# One export in a fresh process: its time, its rows, a bare json.dumps loop over the same
# records, and the process's peak memory.
CHILD = """
import json, sys, time, os
from reviewer.config import open_queue
from reviewer.export import export, _items, _touched
from reviewer.formats import FORMATS, Options
from reviewer.rules import standing_decision
url, fmt, out = sys.argv[1:4]
q = open_queue(url)
t = time.perf_counter()
r = export(q, fmt, out)
ours = time.perf_counter() - t
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
ids, _ = _touched(q, 0)
records = []
for item in _items(q, ids):
    d = standing_decision(item)
    built = FORMATS[fmt](item, d, Options()) if d is not None else "none"
    if not isinstance(built, str):
        records += built
t = time.perf_counter()
with open(out + ".bare", "w") as f:
    for rec in records:
        f.write(json.dumps(rec, ensure_ascii=False) + "\\n")
    f.flush(); os.fsync(f.fileno())
bare = time.perf_counter() - t
# The least an exporter of these decisions can do: read each decision with its item's JSON
# straight from SQLite (no ORM, no models, no formats) and write one json.dumps line each.
import sqlite3
t = time.perf_counter()
db = sqlite3.connect(url.removeprefix("sqlite:///"))
n = 0
with open(out + ".naive", "w") as f:
    for payload, verdict, reviewer, reasons, comment, correction, decided_at in db.execute(
            "SELECT i.payload, d.verdict, d.reviewer, d.reasons, d.comment, d.correction, d.decided_at"
            " FROM decisions d JOIN items i ON i.id = d.item_id ORDER BY d.seq"):
        f.write(json.dumps({"item": json.loads(payload), "verdict": verdict, "reviewer": reviewer,
                            "reasons": json.loads(reasons), "comment": comment, "correction": correction,
                            "decided_at": decided_at}, ensure_ascii=False) + "\\n")
        n += 1
    f.flush(); os.fsync(f.fileno())
naive = (time.perf_counter() - t) / n * r.written  # for as many rows as ours wrote
print("RESULT " + json.dumps({"rows": r.written, "ours": ours, "bare": bare, "naive": naive, "peak_mb": peak}))
"""


def decide_all(url: str) -> int:
    """Decide every item of the demo queue; returns how many decisions were made."""
    from reviewer.config import open_queue
    from reviewer.models import BatchIn, DecisionIn, ItemFilter

    q = open_queue(url)
    made = 0
    while True:
        rows = q.list_items(ItemFilter(status=["pending"]), limit=5000, order="age")
        rows = [r for r in rows if not (r.kind == "action" and r.risk == "critical")]
        if not rows:
            break
        outputs = [r for r in rows if r.kind == "output"]
        for r in outputs[::20]:  # one in twenty corrected, one by one
            item = q.get(r.id).item
            q.decide(r.id, DecisionIn(verdict="correct", reviewer="bench", correction=item.output + " (checked)"))
            made += 1
        corrected = {r.id for r in outputs[::20]}
        rejected = [r.id for r in outputs[1::10] if r.id not in corrected]
        approved = [r.id for r in rows if r.id not in corrected and r.id not in set(rejected)]
        for ids, d in ((rejected, DecisionIn(verdict="reject", reviewer="bench", reasons=["other"])),
                       (approved, DecisionIn(verdict="approve", reviewer="bench"))):
            if ids:
                made += len(q.decide_many(BatchIn(item_ids=ids, decision=d)).decided)
    q.close()
    return made


def run_child(url: str, fmt: str, out_dir: Path) -> dict[str, float]:
    out = str(out_dir / f"{fmt}.out")
    res = subprocess.run([sys.executable, "-c", CHILD, url, fmt, out], capture_output=True, text=True,
                         cwd=ROOT, env=child_env(), timeout=3600)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise RuntimeError(res.stderr[-2000:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--db", help="use a copy of this demo database (built if missing)")
    args = ap.parse_args()
    work = scratch_dir()
    urls = {}
    for n, path in ((args.items, args.db), (args.items // 5, None)):
        url = demo_db(path, n, scratch=True) if path else demo_db(str(work / f"demo-{n}.db"), n)
        t = time.perf_counter()
        print(f"decided {decide_all(url):,} items of {n:,} in {time.perf_counter() - t:.0f} s", flush=True)
        urls[n] = url
    header(f"reviewer export ({args.items:,} items decided)")
    for fmt in FORMATS:
        full_i, full_b = both(run_child, urls[args.items], fmt, work)
        fifth = run_child(urls[args.items // 5], fmt, work)

        def show(r: dict[str, float]) -> str:
            return (f"{r['rows'] / r['ours']:7,.0f} rows/s = {r['bare'] / r['ours']:.2f}x bare "
                    f"({r['naive'] / r['ours']:.2f}x naive), {r['peak_mb']:.0f} MB")

        report(fmt, show(full_i), show(full_b),
               f">= {RATIO_GOAL}x bare; {full_i['rows']:,.0f} rows; {fifth['peak_mb']:.0f} MB at a fifth")


if __name__ == "__main__":
    main()
