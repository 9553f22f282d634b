"""CLI start-up: `reviewer show ID` on a 100k-item queue against `reviewer --version`, idle and
beside one CPU-bound process, in the same run.

    python benchmarks/cli.py [--items 100000] [--db PATH] [--runs 7] [--quick]

Every command is a real subprocess, `python -m reviewer --db URL ...`, timed wall clock from
spawn to exit: the median of --runs runs after one warm-up. Each figure is a ratio to
`reviewer --version` measured in the same phase (idle, or busy), so the interpreter's own
start-up is the unit.

- `show ID` (an item in the middle of the queue): target ratio <= 3;
- `list --limit 20` and `--help`: informational, same ratio;
- once, idle: the 8 largest cumulative imports of `reviewer show` (`python -X importtime`),
  to know what to make lazy.

Without --db a demo database is built in a temp dir; a database given with --db is copied
first (opening a queue may migrate its schema), never modified.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _busy import both, header, report
from _setup import child_env, demo_db

ROOT = Path(__file__).resolve().parents[1]
TARGET_SHOW = 3.0


def run(argv: list[str]) -> float:
    """Wall time of one `python -m reviewer ...`; raises if it fails."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "reviewer", *argv], capture_output=True, text=True,
                         cwd=ROOT, env=child_env(), timeout=120)
    took = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"reviewer {' '.join(argv)} exited {out.returncode}: {out.stderr[-2000:]}")
    return took


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds per command; the commands interleaved, so drift hits them all alike."""
    for argv in commands.values():
        run(argv)  # warm-up: file cache, bytecode cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(run(argv))
    return {name: statistics.median(ts) for name, ts in times.items()}


def import_costs(argv: list[str]) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of every import, largest cumulative first; a module's
    name is indented by its nesting depth."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "reviewer", *argv],
                         capture_output=True, text=True, cwd=ROOT, env=child_env(), timeout=120)
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative), int(own), name.rstrip()))
    return sorted(rows, reverse=True)


def middle_id(url: str) -> str:
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        n = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        return conn.execute("SELECT id FROM items ORDER BY seq LIMIT 1 OFFSET ?", (n // 2,)).fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--db", help="use a copy of this demo database (built if missing)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per command (median)")
    ap.add_argument("--quick", action="store_true", help="3 runs per command, for a smoke run")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs

    url = demo_db(args.db, args.items, scratch=True)
    item = middle_id(url)
    header(f"reviewer CLI start-up, median of {runs} runs")
    commands = {
        "--version": ["--version"],
        f"show {item}": ["--db", url, "show", item],
        "list --limit 20": ["--db", url, "list", "--limit", "20"],
        "--help": ["--help"],
    }
    idle, busy = both(measure, commands, runs)

    def fmt(t: dict[str, float], name: str) -> str:
        return f"{t[name] * 1000:5.0f} ms = {t[name] / t['--version']:.2f}x --version"

    report("--version", f"{idle['--version'] * 1000:5.0f} ms", f"{busy['--version'] * 1000:5.0f} ms",
           "baseline")
    show = f"show {item}"
    report("show ID", fmt(idle, show), fmt(busy, show), f"ratio <= {TARGET_SHOW:g}")
    report("list --limit 20", fmt(idle, "list --limit 20"), fmt(busy, "list --limit 20"), "informational")
    report("--help", fmt(idle, "--help"), fmt(busy, "--help"), "informational")

    print("\nlargest imports of `reviewer show` (python -X importtime, idle, cumulative):")
    costs = import_costs(commands[show])
    total = sum(c for c, _, name in costs if not name.startswith("  "))  # top-level imports
    print(f"  all imports: {total / 1000:.0f} ms; the 8 largest, indented by nesting depth")
    for cumulative, own, name in costs[:8]:
        print(f"  {cumulative / 1000:7.1f} ms  (self {own / 1000:5.1f} ms)  {name}")


if __name__ == "__main__":
    main()
