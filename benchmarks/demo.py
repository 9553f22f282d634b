"""`reviewer demo` build time, against two baselines measured in the same run (so the ratios
hold on a busy machine):

- items only: the same items generated and validated, stored nowhere (the build's floor
  above storage);
- raw insert: the same items' rows (already built) inserted with sqlite3 `executemany`, one
  transaction per batch, into the same schema (the floor of the insert itself).

Prints wall and CPU seconds, items/s, the file's size and the ratios.

    python benchmarks/demo.py [--items 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reviewer.demo import BATCH, build_demo, human_size  # noqa: E402
from reviewer.demo_data import demo_stream  # noqa: E402
from reviewer.models import parse_item  # noqa: E402
from reviewer.storage import SqlQueue  # noqa: E402
from reviewer.storage import convert as cv  # noqa: E402


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    n = ap.parse_args().items
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as d:
        t = clock()
        built = build_demo(Path(d) / "demo.db", n)
        build = since(t)
        print(f"build        {build[0]:6.1f} s ({build[1]:5.1f} s CPU)  {n / build[0]:7,.0f} items/s  "
              f"{human_size(built.size)}", flush=True)
        built.path.unlink()

        t = clock()
        models = [parse_item(x) for x in demo_stream(n)]
        made = since(t)
        print(f"items only   {made[0]:6.1f} s ({made[1]:5.1f} s CPU)", flush=True)

        now = datetime.now(UTC)
        rows = [cv.item_row(m, m.id or "", now) for m in models]
        cols = list(rows[0])
        tuples = [tuple(cv.sqlite_value(r[c]) for c in cols) for r in rows]
        del models, rows
        SqlQueue.open(f"sqlite:///{d}/raw.db").close()  # same schema, same pragmas
        conn = sqlite3.connect(f"{d}/raw.db", isolation_level=None)
        conn.execute("PRAGMA synchronous = FULL")
        sql = f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        t = clock()
        for i in range(0, len(tuples), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, tuples[i : i + BATCH])
            conn.execute("COMMIT")
        raw = since(t)
        conn.close()
        print(f"raw insert   {raw[0]:6.1f} s ({raw[1]:5.1f} s CPU)", flush=True)
    print(f"{n:,} items in {build[0]:.1f} s: generating and validating them is {made[1] / build[1]:.0%} of "
          f"the build's CPU, the raw insert of their rows {raw[1] / build[1]:.0%}; the rest is "
          f"enqueue_many (payload, hashes, audit chain, search index). Build / (items + raw insert): "
          f"{build[1] / (made[1] + raw[1]):.1f}x in CPU")


if __name__ == "__main__":
    main()
