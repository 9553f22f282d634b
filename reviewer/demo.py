"""`reviewer demo`: a fresh demo database from the realistic generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .demo_data import demo_items
from .models import parse_item

BATCH = 2000


def build_demo(path: Path, n: int, *, seed: int = 7, progress: Callable[[int], None] | None = None) -> None:
    """(Re)create `path` holding `n` demo items."""
    from reviewer.storage import SqlQueue

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    q = SqlQueue.open(f"sqlite:///{path}")
    try:
        batch = []
        for data in demo_items(n, seed=seed):
            batch.append(parse_item(data))
            if len(batch) >= BATCH:
                q.enqueue_many(batch, actor="demo")
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            q.enqueue_many(batch, actor="demo")
            if progress:
                progress(len(batch))
    finally:
        q.close()
