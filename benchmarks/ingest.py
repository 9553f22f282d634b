"""Ingest throughput: 100k realistic ~1 KB items through the real code path (parse, validate,
canonicalise, hash, insert with audit rows), against raw sqlite3 `executemany` of the same item
rows into the same schema, measured in the same run, idle and beside one CPU-bound process
(see _busy.py; the ratio compares the two paths within each phase).

    python benchmarks/ingest.py [--items 100000] [--rounds 1] [--quick]

Target: the real path at no less than 0.25 of the raw baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _busy import both, header, report  # noqa: E402

from reviewer.demo_data import generate  # noqa: E402
from reviewer.ingest import ingest  # noqa: E402
from reviewer.models import parse_item  # noqa: E402
from reviewer.storage import SqlQueue  # noqa: E402
from reviewer.storage import convert as cv  # noqa: E402


def measure(data: bytes, tuples: list[tuple[object, ...]], cols: list[str], items: int,
            rounds: int) -> tuple[float, float]:
    """(ours, raw) median seconds to ingest `data`, and to insert `tuples` raw."""
    ours, raw = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            q = SqlQueue.open(f"sqlite:///{d}/bench.db")
            t = time.perf_counter()
            result = ingest(q, io.BytesIO(data))
            ours.append(time.perf_counter() - t)
            assert result.inserted == items, result.as_dict()
            q.close()
        with tempfile.TemporaryDirectory() as d:
            SqlQueue.open(f"sqlite:///{d}/raw.db").close()  # same schema, same pragmas
            conn = sqlite3.connect(f"{d}/raw.db", isolation_level=None)
            conn.execute("PRAGMA synchronous = FULL")
            sql = f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            t = time.perf_counter()
            for i in range(0, len(tuples), 1000):  # same batch size as ingest
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, tuples[i : i + 1000])
                conn.execute("COMMIT")
            raw.append(time.perf_counter() - t)
            conn.close()
    return statistics.median(ours), statistics.median(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="20k items, for a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.items = 20_000

    lines = [json.dumps(d) for d in generate(args.items, seed=1, action_share=0.05)]
    data = ("\n".join(lines) + "\n").encode()
    print(f"{args.items:,} items, mean {len(data) / args.items:,.0f} bytes per line")

    now = datetime.now(UTC)
    rows = [cv.item_row(it, it.id, now) for it in map(parse_item, lines)]
    cols = list(rows[0])
    tuples = [tuple(cv.sqlite_value(r[c]) for c in cols) for r in rows]

    header("ingest")
    (o_i, r_i), (o_b, r_b) = both(measure, data, tuples, cols, args.items, args.rounds)
    report("reviewer ingest", f"{args.items / o_i:8,.0f} items/s ({o_i:.2f} s)",
           f"{args.items / o_b:8,.0f} items/s ({o_b:.2f} s)", "see ratio")
    report("raw executemany", f"{args.items / r_i:8,.0f} rows/s ({r_i:.2f} s)",
           f"{args.items / r_b:8,.0f} rows/s ({r_b:.2f} s)", "baseline")
    report("ratio", f"{r_i / o_i:.2f} of raw", f"{r_b / o_b:.2f} of raw", ">= 0.25")


if __name__ == "__main__":
    main()
