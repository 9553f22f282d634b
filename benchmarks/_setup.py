"""Shared by the benchmarks: the demo database they run on, and the child processes' env.

`demo_db(path, items)` builds `items` demo items with `reviewer.demo.build_demo` when `path` is
None (in a temp dir) or missing, and returns a `sqlite:///` URL. With `scratch=True` a database
passed with `--db` is copied first (sqlite3 backup: consistent), so it is only ever read, even
by a benchmark that approves items or opens a queue (which may migrate its schema), and every
run starts from the same state.

`child_env()` is the environment for timed subprocesses: Python may cache bytecode, in a
directory of its own (PYTHONPYCACHEPREFIX), so start-up is timed as an installed tool starts
(compiled once, then cached), not recompiling every module from source each time as it would
under PYTHONDONTWRITEBYTECODE, and nothing is written into the source tree.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scratch_dir() -> Path:
    """A temp dir removed when the benchmark exits (a 100k database is ~0.4 GB), also when
    it is terminated (SIGTERM runs the atexit handlers)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    d = tempfile.mkdtemp(prefix="bench-")
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return Path(d)


def count_items(path: Path) -> int:
    """Items in a demo database, read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()


def demo_db(path: str | None, items: int, *, scratch: bool = False) -> str:
    """A `sqlite:///` URL of a demo database; see the module docstring."""
    from reviewer.demo import build_demo

    target = Path(path) if path else scratch_dir() / "bench.db"
    if not target.exists():
        t = time.perf_counter()
        build_demo(target, items)
        print(f"built {items:,} demo items in {target} in {time.perf_counter() - t:.1f} s", flush=True)
    elif path:
        print(f"using {target} ({count_items(target):,} items)", flush=True)
    if scratch and path:
        copy = scratch_dir() / "scratch.db"
        src = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        copy.chmod(0o600)
        target = copy
        from reviewer.storage import SqlQueue

        t = time.perf_counter()
        SqlQueue.open(f"sqlite:///{target}").close()  # migrate the copy now, not while timing
        if time.perf_counter() - t > 1:
            print(f"migrated the copy's schema in {time.perf_counter() - t:.1f} s", flush=True)
    return f"sqlite:///{target}"


_PYCACHE = str(scratch_dir() / "pycache")


def child_env(**extra: str) -> dict[str, str]:
    """os.environ for a timed child: bytecode cached in a private dir, no REVIEWER_* settings."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("REVIEWER_")}
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    env.update(extra)
    return env
