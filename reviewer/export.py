"""Exports: decisions -> dataset files, written atomically, incrementally from a named cursor.

Formats live in `FORMATS`; each turns one decided item into zero or more JSON-able records.
So far: `golden` (docs/wire-format.md and the README). An incremental export (`cursor=NAME`) rewrites the file
with the previous entries of untouched items kept, re-decided items replaced and undone items
dropped, so the file always mirrors the current decisions.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .errors import Invalid, ReviewerError
from .models import Decision, OutputItem, QueueItem, utcnow
from .queue import ReviewQueue
from .rules import standing_decision
from .safe_text import safe_line


def golden(item: QueueItem, d: Decision, include_rejected: bool) -> list[dict[str, Any]]:
    it = item.item
    if not isinstance(it, OutputItem):
        return []
    if d.verdict == "reject" and not include_rejected:
        return []
    expected = {"approve": it.output, "correct": d.correction, "reject": None}[d.verdict]
    return [{
        "id": it.id,
        "input": it.input.model_dump(mode="json", exclude_none=True),
        "expected_output": expected,
        "context": it.context.model_dump(mode="json", exclude_none=True),
        "metadata": {
            "source": it.source.model_dump(mode="json", exclude_none=True),
            "queue": it.queue,
            "flags": [f.model_dump(mode="json", exclude_none=True) for f in it.flags],
            "verdict": d.verdict,
            "reviewer": d.reviewer,
            "reasons": d.reasons,
            "comment": d.comment,
            "original_output": it.output,
            "decided_at": d.decided_at.isoformat(),
            "decision_id": d.id,
        },
    }]


Formatter = Callable[[QueueItem, Decision, bool], list[dict[str, Any]]]
FORMATS: dict[str, Formatter] = {"golden": golden}


@dataclass
class ExportResult:
    path: str
    written: int
    total: int
    cursor_from: int
    cursor_to: int
    verdicts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""


def _touched(queue: ReviewQueue, since: int) -> tuple[list[str], int]:
    """Ids of items with a decision or revert after `since`, and the new cursor position."""
    ids: dict[str, None] = {}
    pos = since
    while True:
        page = queue.decisions_since(pos, limit=1000)
        if not page:
            return list(ids), pos
        for d in page:
            ids[d.item_id] = None
        pos = page[-1].seq


def _keep(
    item: QueueItem, d: Decision, queues: set[str] | None, verdicts: set[str] | None,
    since: datetime | None,
) -> bool:
    return (
        (not queues or item.queue in queues)
        and (not verdicts or d.verdict in verdicts)
        and (since is None or d.decided_at >= since)
    )


def export(
    queue: ReviewQueue,
    fmt: str,
    out: str | Path,
    *,
    cursor: str | None = None,
    queues: Iterable[str] | None = None,
    verdicts: Iterable[str] | None = None,
    since: datetime | None = None,
    include_rejected: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write `fmt` records to `out` atomically (temp file + rename) with `out.manifest.json`."""
    if fmt not in FORMATS:
        raise Invalid(f"unknown export format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    to_record = FORMATS[fmt]
    out = _destination(out)
    try:
        return _export(queue, fmt, to_record, out, cursor, queues, verdicts, since, include_rejected,
                       progress)
    except OSError as e:
        raise ReviewerError(f"cannot write {safe_line(str(out))}: {e.strerror or e}",
                            hint="check the path, its permissions and the free disk space") from None


def _destination(out: str | Path) -> Path:
    """`out` as a path an export may replace: a regular file or nothing yet."""
    if not str(out).strip():
        raise Invalid("the output file name is empty", hint="pass -o FILE.jsonl")
    path = Path(out)
    if path.exists() and not path.is_file():
        raise Invalid(f"{safe_line(str(path))} exists and is not a regular file",
                      hint="an export replaces its file whole; give a new file name")
    return path


def _export(
    queue: ReviewQueue, fmt: str, to_record: Formatter, out: Path, cursor: str | None,
    queues: Iterable[str] | None, verdicts: Iterable[str] | None, since: datetime | None,
    include_rejected: bool, progress: Callable[[int, int], None] | None,
) -> ExportResult:
    start = queue.get_cursor(cursor) if cursor else 0
    touched, end = _touched(queue, start)
    qset, vset = set(queues or ()), set(verdicts or ())
    if vset and "reject" in vset:
        include_rejected = True

    kept_lines: list[str] = []
    if cursor and start and out.exists():
        gone = set(touched)
        with out.open(encoding="utf-8") as f:
            kept_lines = [ln for ln in f if ln.strip() and json.loads(ln).get("id") not in gone]

    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out) as f:
        for ln in kept_lines:
            f.write(ln)
            digest.update(ln.encode())
        for i, item_id in enumerate(touched, 1):
            item = queue.get(item_id)
            d = standing_decision(item)
            if d is not None and _keep(item, d, qset, vset, since):
                for rec in to_record(item, d, include_rejected):
                    line = json.dumps(rec, ensure_ascii=False) + "\n"
                    f.write(line)
                    digest.update(line.encode())
                    written += 1
                    counts[d.verdict] = counts.get(d.verdict, 0) + 1
            if progress:
                progress(i, len(touched))
    result = ExportResult(str(out), written, written + len(kept_lines), start, end, counts,
                          digest.hexdigest())
    manifest = {
        "format": fmt,
        "file": out.name,
        "records": result.total,
        "new_records": written,
        "verdicts": counts,
        "sha256": result.sha256,
        "cursor": {"name": cursor, "from": start, "to": end},
        "filters": {"queues": sorted(qset), "verdicts": sorted(vset),
                    "since": since.isoformat() if since else None,
                    "include_rejected": include_rejected},
        "created_at": utcnow().isoformat(),
    }
    write_atomic(_destination(out.with_name(out.name + ".manifest.json")),
                 json.dumps(manifest, indent=2) + "\n")
    if cursor:
        queue.set_cursor(cursor, end)
    return result


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A text file that appears at `path` whole (fsync, then rename) or not at all."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    with atomic_writer(path) as f:
        f.write(text)
