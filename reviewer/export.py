"""Exports: decisions -> dataset files, written atomically, incrementally from a named cursor.

The formats are in `reviewer.formats`. An incremental export (`cursor=NAME`) rewrites the file
with the previous records of untouched items kept, re-decided items replaced and undone items
dropped, so the file always mirrors the current decisions. Items a format leaves out are
counted, with why, in the manifest and in the result: nothing is left out silently.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .errors import Invalid, ReviewerError
from .formats import BARE, CSV_COLUMNS, FORMATS, Builder, Options, Record, csv_cell
from .models import Decision, QueueItem, utcnow
from .queue import ReviewQueue
from .redact import RULES as REDACTION_RULES
from .rules import standing_decision
from .safe_text import safe_line

SCHEMA_VERSION = 2
NAMED = 5  # item ids named per reason an export left items out
PROGRESS_EVERY = 100  # items between two progress reports


def _csv_line(rec: Record) -> str:
    """One CSV row, every cell through `csv_cell`. Written with a CRLF terminator so that the
    csv module quotes a cell holding a CR as well as one holding a LF, then ended with LF."""
    buf = io.StringIO()
    csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\r\n").writerow({k: csv_cell(v) for k, v in rec.items()})
    return buf.getvalue()[:-2] + "\n"


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep what was alive before an export (modules, the ORM, the models' validators) out of
    the cyclic GC's passes while it runs: they walked that heap again and again, about a
    fifth of an export's time. Objects made during the export are collected as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _items(queue: ReviewQueue, ids: list[str], page: int = 500) -> Iterator[QueueItem]:
    """The items, read a page at a time: an export streams, whatever its size."""
    for i in range(0, len(ids), page):
        yield from queue.get_many(ids[i : i + page])


def ids_path(out: Path) -> Path:
    """Where a format without ids in its records (BARE) keeps them: one per line of `out`."""
    return out.with_name(out.name + ".ids")


def decided_items(queue: ReviewQueue) -> Iterator[QueueItem]:
    """Every item with a decision (or an undone one), a page at a time."""
    ids, _ = _touched(queue, 0)
    return _items(queue, ids)


def _duplicates(queue: ReviewQueue, ids: list[str], flt: Filters, to_record: Builder, options: Options,
                threshold: float) -> dict[str, str]:
    """The items this export would write whose input nearly repeats a later-decided one's."""
    from .dedup import Candidate, near_duplicates, normalise

    found = []
    for item in _items(queue, ids):
        d = standing_decision(item)
        inp = item.item.input
        users = [m.content for m in inp.messages if m.role == "user" and m.content]
        text = normalise(users[-1] if users else inp.text or "")
        if d is not None and text and flt.take(item, d) and not isinstance(to_record(item, d, options), str):
            found.append(Candidate(item.id, d.decided_at, text))
    return near_duplicates(found, threshold)


def _check_redacted(out: Path) -> None:
    """Refuse to keep records from a file its last export did not redact with today's rules."""
    manifest = out.with_name(out.name + ".manifest.json")
    try:
        rules = json.loads(manifest.read_text(encoding="utf-8")).get("redaction_rules")
    except (OSError, ValueError, AttributeError):
        rules = None
    if rules != REDACTION_RULES:
        raise Invalid(f"{safe_line(out.name)} holds records not redacted by this version's --redact",
                      hint="export once with --redact and without --cursor (it rewrites the whole file)")


def _kept(fmt: str, out: Path, gone: set[str]) -> list[tuple[str, str]]:
    """(id, line) of the previous file's records whose items were not touched since (CSV: the
    header is written anew)."""
    with out.open(encoding="utf-8", newline="") as f:
        if fmt == "csv":
            cells = {csv_cell(i) for i in gone}  # ids as their cells were written
            return [(r["id"], _csv_line(r)) for r in csv.DictReader(f) if r.get("id") not in cells]
        lines = [ln for ln in f if ln.strip()]
    if fmt in BARE:
        side = ids_path(out)
        head, *ids = side.read_text(encoding="utf-8").splitlines() if side.exists() else [""]
        if head != f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}" or len(ids) != len(lines):
            raise Invalid(f"{safe_line(side.name)} is not the id index of {safe_line(out.name)} as it is now",
                          hint="export once without --cursor (or to a new file) to start again")
    else:
        ids = [json.loads(ln).get("id") for ln in lines]
    return [(i, ln) for i, ln in zip(ids, lines, strict=True) if i not in gone]


@dataclass
class ExportResult:
    path: str
    written: int
    total: int
    cursor_from: int
    cursor_to: int
    verdicts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    kinds: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)  # why -> how many items
    splits: dict[str, str] = field(default_factory=dict)  # split name -> its file
    redacted: dict[str, int] = field(default_factory=dict)  # placeholder -> how many
    duplicates: dict[str, str] = field(default_factory=dict)  # dropped item id -> why
    left_out_ids: dict[str, list[str]] = field(default_factory=dict)  # why -> the first few ids


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


@dataclass(frozen=True)
class Filters:
    """Which standing decisions an export takes (empty: all)."""

    queues: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    verdicts: frozenset[str] = frozenset()
    reviewers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def take(self, item: QueueItem, d: Decision) -> bool:
        return ((not self.queues or item.queue in self.queues)
                and (not self.kinds or item.kind in self.kinds)
                and (not self.verdicts or d.verdict in self.verdicts)
                and (not self.reviewers or d.reviewer in self.reviewers)
                and (not self.tags or bool(self.tags & set(item.item.tags)))
                and (self.since is None or d.decided_at >= self.since)
                and (self.until is None or d.decided_at < self.until))

    def manifest(self) -> dict[str, Any]:
        return {"queues": sorted(self.queues), "kinds": sorted(self.kinds), "verdicts": sorted(self.verdicts),
                "reviewers": sorted(self.reviewers), "tags": sorted(self.tags),
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def export(
    queue: ReviewQueue,
    fmt: str,
    out: str | Path,
    *,
    cursor: str | None = None,
    filters: Filters | None = None,
    include_rejected: bool = False,
    split: str | None = None,
    redact: bool = False,
    dedup: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write `fmt` records to `out` atomically (temp file + rename) with `out.manifest.json`;
    with `split` (`test=0.2`), to one file per split (`out.test.jsonl`, `out.train.jsonl`);
    with `redact`, PII in the records replaced by placeholders (reviewer.redact); with
    `dedup` (0-100), near-duplicate inputs collapsed to the latest decision (reviewer.dedup)."""
    if fmt not in FORMATS:
        raise Invalid(f"unknown export format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    out = _destination(out)
    flt = filters or Filters()
    if "reject" in flt.verdicts:
        include_rejected = True
    try:
        if redact:
            from .redact import _recognizers

            _recognizers()  # a missing extra is said before anything is read or written
        if dedup is not None and not 0 < dedup <= 100:
            raise Invalid(f"--dedup {dedup}: a similarity from 1 to 100", hint="90 collapses close rewordings")
        return _export(queue, fmt, out, cursor, flt, Options(include_rejected=include_rejected), progress,
                       parse_split(split), redact, dedup)
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


def parse_split(spec: str | None) -> list[tuple[str, float]]:
    """`test=0.2` or `test=0.1,val=0.1` as [(name, fraction)], the rest going to `train`."""
    if not spec:
        return []
    out: list[tuple[str, float]] = []
    for part in spec.split(","):
        name, _, frac = part.partition("=")
        try:
            value = float(frac)
        except ValueError:
            value = -1.0
        if not name.strip().isidentifier() or name.strip() == "train" or not 0 < value < 1:
            raise Invalid(f"--split {safe_line(spec)}: each part is NAME=FRACTION, such as test=0.2",
                          hint="fractions between 0 and 1, names other than train (it takes the rest)")
        out.append((name.strip(), value))
    if sum(f for _, f in out) >= 1:
        raise Invalid(f"--split {safe_line(spec)}: the fractions add up to 1 or more", hint="leave some for train")
    return out


def split_of(item_id: str, split: list[tuple[str, float]]) -> str:
    """The split an item belongs to: a function of its id alone, so it never moves as the
    dataset grows (an eval item never leaks into a later training file)."""
    at = int(hashlib.sha256(item_id.encode()).hexdigest()[:15], 16) / 16**15
    for name, fraction in split:
        if at < fraction:
            return name
        at -= fraction
    return "train"


def split_path(out: Path, name: str) -> Path:
    """`data.jsonl` -> `data.test.jsonl`."""
    return out.with_name(f"{out.stem}.{name}{out.suffix}")


@dataclass
class _Sink:
    """One output file: its lines (kept ones first), digest and, for a BARE format, ids."""

    fmt: str
    path: Path
    kept: list[tuple[str, str]]
    digest: Any = field(default_factory=hashlib.sha256)
    ids: list[str] = field(default_factory=list)
    written: int = 0
    file: TextIO | None = None

    def start(self, f: TextIO) -> None:
        self.file = f
        if self.fmt == "csv":
            self._write(",".join(CSV_COLUMNS) + "\n")
        for item_id, ln in self.kept:
            self.put(ln, item_id)

    def _write(self, line: str) -> None:
        assert self.file is not None
        self.file.write(line)
        self.digest.update(line.encode())

    def put(self, line: str, item_id: str) -> None:
        self._write(line)
        if self.fmt in BARE:
            self.ids.append(item_id)

    def record(self, rec: Record, item_id: str) -> None:
        if self.fmt in BARE:
            rec = {k: v for k, v in rec.items() if k != "id"}
        self.put(_csv_line(rec) if self.fmt == "csv" else json.dumps(rec, ensure_ascii=False) + "\n", item_id)
        self.written += 1

    def finish(self) -> None:
        """Before the file lands: a BARE format's id index, naming the file it indexes."""
        if self.fmt in BARE:
            write_atomic(ids_path(self.path),
                         f"sha256 {self.digest.hexdigest()}\n" + "".join(x + "\n" for x in self.ids))

    def summary(self) -> dict[str, Any]:
        return {"file": self.path.name, "records": self.written + len(self.kept), "new_records": self.written,
                "sha256": self.digest.hexdigest()}


def _export(queue: ReviewQueue, fmt: str, out: Path, cursor: str | None, flt: Filters, options: Options,
            progress: Callable[[int, int], None] | None, split: list[tuple[str, float]],
            redact: bool, dedup: float | None) -> ExportResult:
    from .redact import redact as redact_record

    to_record: Builder = FORMATS[fmt]
    start = queue.get_cursor(cursor) if cursor else 0
    touched, end = _touched(queue, start)
    gone = set(touched)
    dropped = _duplicates(queue, touched, flt, to_record, options, dedup) if dedup is not None else {}
    names = [n for n, _ in split] + ["train"] if split else [""]
    paths = {n: split_path(out, n) if n else out for n in names}
    keeps = bool(cursor and start and any(p.exists() for p in paths.values()))
    if keeps and redact:
        _check_redacted(out)
    sinks = {n: _Sink(fmt, p, _kept(fmt, p, gone) if keeps and p.exists() else [])
             for n, p in paths.items()}

    counts: dict[str, int] = {}
    kinds: dict[str, int] = {}
    left_out: dict[str, int] = {}
    redacted: Counter[str] = Counter()
    left_out_ids: dict[str, list[str]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as files:
        files.enter_context(_heap_frozen())
        for sink in sinks.values():
            sink.start(files.enter_context(atomic_writer(sink.path)))
        if progress:
            progress(0, len(touched))
        for i, item in enumerate(_items(queue, touched), 1):
            d = standing_decision(item)
            if d is not None and flt.take(item, d) and item.id not in dropped:
                records = to_record(item, d, options)
                if isinstance(records, str):
                    left_out[records] = left_out.get(records, 0) + 1
                    named = left_out_ids.setdefault(records, [])
                    if len(named) < NAMED:
                        named.append(item.id)
                else:
                    sink = sinks[split_of(item.id, split) if split else ""]
                    for rec in records:
                        sink.record(redact_record(rec, redacted) if redact else rec, item.id)
                    counts[d.verdict] = counts.get(d.verdict, 0) + 1
                    kinds[item.kind] = kinds.get(item.kind, 0) + 1
            if progress and (i % PROGRESS_EVERY == 0 or i == len(touched)):
                progress(i, len(touched))
        for sink in sinks.values():
            sink.finish()
    first = next(iter(sinks.values()))
    result = ExportResult(str(out), sum(x.written for x in sinks.values()),
                          sum(x.written + len(x.kept) for x in sinks.values()), start, end, counts,
                          first.digest.hexdigest(), kinds, left_out,
                          {n: str(x.path) for n, x in sinks.items()} if split else {}, dict(redacted), dropped,
                          left_out_ids)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "format": fmt,
        "file": out.name,
        "records": result.total,
        "new_records": result.written,
        "new_verdicts": counts,  # of this run's new records (`records` counts the kept ones too)
        "new_kinds": kinds,
        "left_out": left_out,
        "redaction": dict(redacted) if redact else None,
        "redaction_rules": REDACTION_RULES if redact else None,
        "dedup": {"threshold": dedup, "dropped": dropped} if dedup is not None else None,
        "sha256": None if split else result.sha256,
        "split": {"by": "sha256 of the item id", "fractions": dict(split), "files": {n: x.summary() for n, x in sinks.items()}}
        if split else None,
        "cursor": {"name": cursor, "from": start, "to": end},
        "filters": {**flt.manifest(), "include_rejected": options.include_rejected},
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
