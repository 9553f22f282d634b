"""Decisions made while the gateway was unreachable, kept on disk until it is back.

One JSON line per decision (the item, the decision with its id, the lease held; for a bulk
decision, the items of the batch instead of one item), appended and
fsynced before the reviewer is told it is saved. Sending is idempotent by decision id, so a
decision the gateway did record before its answer was lost is not doubled; a decision it
refuses (the item expired, someone else decided it) is handed back to be shown, never
dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .models import DecisionIn, Lease


@dataclass(frozen=True)
class Saved:
    item_id: str  # "" for a bulk decision
    decision: DecisionIn
    lease: Lease | None
    batch: tuple[str, ...] = ()  # a bulk decision's items (its id is the decision's)


class Outbox:
    """A file of saved decisions. Thread-safe within a process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def for_gateway(cls, url: str) -> Outbox:
        """The outbox of one gateway, in the user data directory."""
        from .config import data_dir

        name = hashlib.sha256(url.encode()).hexdigest()[:16]
        folder = data_dir() / "outbox"
        folder.mkdir(mode=0o700, exist_ok=True)
        return cls(folder / f"{name}.jsonl")

    def add(self, item_id: str, decision: DecisionIn, lease: Lease | None, batch: Sequence[str] = ()) -> None:
        line = json.dumps({"item_id": item_id, "decision": decision.model_dump(mode="json"),
                           "lease": None if lease is None else lease.model_dump(mode="json"),
                           **({"batch": list(batch)} if batch else {})})
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def saved(self) -> list[Saved]:
        """Every saved decision, oldest first; a line that cannot be read (a torn last write)
        is skipped."""
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        out = []
        for line in lines:
            try:
                data = json.loads(line)
                lease = data.get("lease")
                out.append(Saved(data["item_id"], DecisionIn.model_validate(data["decision"]),
                                 None if lease is None else Lease.model_validate(lease),
                                 tuple(str(x) for x in data.get("batch", ()))))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def remove(self, decision_id: str) -> None:
        """Drop one saved decision (sent, or refused and reported): the file is rewritten
        atomically."""
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return
            keep = [x for x in lines if _decision_id(x) != decision_id]
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, "".join(f"{x}\n" for x in keep).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)


def _decision_id(line: str) -> str | None:
    try:
        return str(json.loads(line)["decision"]["id"])
    except (ValueError, KeyError, TypeError):
        return None
