"""Read items from JSONL: one clear error per bad line (with its number), the good lines go in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from pydantic import ValidationError

from .models import ActionItem, OutputItem, parse_item, utcnow
from .queue import ReviewQueue
from .safe_text import safe_line

BATCH = 1000


@dataclass
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class IngestReport:
    inserted: int = 0
    unchanged: int = 0
    conflicts: list[LineError] = field(default_factory=list)
    invalid: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.invalid

    def as_dict(self) -> dict[str, object]:
        return {
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "conflicts": len(self.conflicts),
            "invalid": len(self.invalid),
            "errors": [str(e) for e in [*self.invalid, *self.conflicts]],
        }


def describe(e: ValidationError) -> str:
    """One readable line for a validation error: the field path and what was expected."""
    parts = []
    for err in e.errors(include_url=False)[:3]:
        if err["type"] == "json_invalid":
            return safe_line(f"not valid JSON ({err['ctx'].get('error', 'parse error')})", 500)
        loc = [str(x) for x in err["loc"]]
        if loc and loc[0] in ("output", "action") and err["type"] != "union_tag_invalid":
            loc = loc[1:]  # drop the discriminator tag pydantic puts first
        where = ".".join(loc) or "item"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "union_tag_invalid":
            where, msg = "kind", f"must be 'output' or 'action', got {err['input'].get('kind')!r}"
        elif err["type"] == "union_tag_not_found":
            where, msg = "kind", "required field is missing ('output' or 'action')"
        parts.append(f"{where}: {msg}")
    extra = len(e.errors()) - 3
    # field names come from the item (free keys), so the line goes through the safe-text path
    return safe_line("; ".join(parts) + (f" (and {extra} more)" if extra > 0 else ""), 500)


def parse_lines(
    lines: Iterable[str | bytes], errors: list[LineError]
) -> Iterator[tuple[int, OutputItem | ActionItem]]:
    """Valid items with their line numbers; invalid lines are appended to `errors`."""
    for n, raw in enumerate(lines, start=1):
        if not (raw.strip(b" \t\r\n") if isinstance(raw, bytes) else raw.strip(" \t\r\n")):
            continue
        try:
            yield n, parse_item(raw)
        except ValidationError as e:
            errors.append(LineError(n, describe(e)))
        except ValueError as e:  # undecodable bytes
            errors.append(LineError(n, safe_line(f"not valid UTF-8 JSON ({e})", 500)))


def ingest(
    queue: ReviewQueue,
    stream: IO[bytes],
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest a JSONL byte stream in batches of `batch` items, one transaction each.

    A crash loses at most the batch in flight; re-running completes the file (ids make it
    idempotent). `progress` is called with the bytes read so far.
    """
    report = IngestReport()
    pending: list[tuple[int, OutputItem | ActionItem]] = []
    read = 0

    def counted() -> Iterator[bytes]:
        nonlocal read
        for raw in stream:
            read += len(raw)
            yield raw

    def flush() -> None:
        if not pending:
            return
        results = queue.enqueue_many([it for _, it in pending])
        for (n, _), r in zip(pending, results, strict=True):
            if r.outcome == "inserted":
                report.inserted += 1
            elif r.outcome == "unchanged":
                report.unchanged += 1
            else:
                report.conflicts.append(LineError(n, safe_line(f"id {r.id!r}: {r.detail}", 500)))
        pending.clear()
        if progress:
            progress(read)

    now = utcnow()
    for n, item in parse_lines(counted(), report.invalid):
        if isinstance(item, ActionItem) and (far := item.deadline_error(now)):
            report.invalid.append(LineError(n, far))  # as the gateway refuses it
            continue
        pending.append((n, item))
        if len(pending) >= batch:
            flush()
    flush()
    if progress:
        progress(read)
    return report
