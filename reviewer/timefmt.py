"""Human-readable times for lists and titles (CLI and TUI)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def age(dt: datetime | None, now: datetime) -> str:
    """`5m`, `3h`, `2d` since `dt`; `in 4m` for the future; empty for None."""
    if dt is None:
        return ""
    s = int((now - dt).total_seconds())
    future, s = s < 0, abs(s)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            out = f"{s // size}{unit}"
            break
    else:
        out = f"{s}s"
    return f"in {out}" if future else out
