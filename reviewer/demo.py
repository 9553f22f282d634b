"""`reviewer demo`: a fresh demo database from the realistic generator, and its removal.

The build reports its progress in steps: one per item validated and inserted, then
`finish_steps(n)` for the last phase (table statistics for the planner, and the write-ahead
log folded into the file), so a progress bar of `demo_steps(n)` reaches its end only when
the file is ready. A file is replaced or removed only when it is a demo queue: a SQLite
queue whose every item was added by the demo.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from shlex import quote
from typing import Any

from .demo_data import demo_stream
from .errors import Invalid
from .models import ActionItem, OutputItem, parse_item

BATCH = 5_000  # items per enqueue_many: one write transaction each
ACTOR = "demo"  # the audit log's actor of every item the demo adds
SUFFIXES = ("", "-wal", "-shm")
INSERT, FINISH, DONE = "inserting items", "analyzing and checkpointing", "ready"

Progress = Callable[[int, str], None]  # (steps done since the last call, the phase now): click's bar.update


@dataclass(frozen=True)
class DemoDb:
    """A demo database as built (or removed): where it is, what it holds, its size on disk."""

    path: Path
    items: int
    size: int

    def describe(self) -> str:
        """The closing line of `reviewer demo`: the file, its size, how to remove it."""
        return (f"demo queue: {self.path} ({self.items:,} items, {human_size(self.size)}); "
                f"remove it with `reviewer demo --clean{_path_option(self.path)}` or `rm {quote(str(self.path))}`")


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n //= 1000
    return f"{n:,} GB"


def _path_option(path: Path) -> str:
    from .config import demo_db_path

    return "" if path == demo_db_path() else f" --path {quote(str(path))}"


def finish_steps(n: int) -> int:
    """The last phase's share of the progress, in item steps (about its share of the time)."""
    return max(1, n // 20)


def demo_steps(n: int) -> int:
    """How many steps `build_demo(path, n, progress=...)` reports in all."""
    return max(n, 0) + finish_steps(n)


def disk_size(path: Path) -> int:
    """Bytes of the database file and its write-ahead log, if any."""
    return sum(p.stat().st_size for p in (Path(f"{path}{s}") for s in SUFFIXES) if p.exists())


def check_is_demo(path: Path) -> None:
    """Raise Invalid unless `path` is absent or a queue holding only the demo's items."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            foreign = conn.execute("SELECT 1 FROM audit WHERE action = 'enqueue' AND actor <> ? LIMIT 1",
                                   (ACTOR,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        foreign = (1,)
    if foreign is not None:
        raise Invalid(f"{path} is not a demo queue (not a queue, or one with items the demo did not "
                      "add); it was left as it is", hint="pass --path a new file, or remove this one yourself")


def remove_demo(path: Path) -> int | None:
    """Delete a demo database (and its -wal and -shm files); its size, or None when absent."""
    path = Path(path)
    if not any(Path(f"{path}{s}").exists() for s in SUFFIXES):
        return None
    check_is_demo(path)
    size = disk_size(path)
    for s in SUFFIXES:
        Path(f"{path}{s}").unlink(missing_ok=True)
    return size


def _batches(data: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(data)
    while chunk := list(islice(it, size)):
        yield chunk


def _models(n: int, seed: int, batch: int) -> Iterator[list[OutputItem | ActionItem]]:
    """The demo's items, generated and validated, `batch` at a time."""
    for chunk in _batches(demo_stream(n, seed=seed), batch):
        yield [parse_item(d) for d in chunk]


def build_demo(path: Path, n: int, *, seed: int = 7, progress: Progress | None = None,
               batch: int = BATCH) -> DemoDb:
    """(Re)create `path` holding `n` demo items, `batch` items per write transaction."""
    from reviewer.storage import SqlQueue

    report = progress or (lambda _steps, _phase: None)
    path = Path(path)
    remove_demo(path)
    q = SqlQueue.open(f"sqlite:///{path}")
    try:
        done = 0
        for models in _models(n, seed, batch):
            q.enqueue_many(models, actor=ACTOR)
            done += len(models)
            report(len(models), INSERT if done < n else FINISH)
    finally:
        q.close()
    _finish(path)
    report(finish_steps(n), DONE)
    return DemoDb(path, max(n, 0), disk_size(path))


def _finish(path: Path) -> None:
    """Statistics of the whole table for the planner (the queue takes them as it doubles, so
    they lag up to half its size), then the write-ahead log folded into the file and emptied."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("ANALYZE items")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
