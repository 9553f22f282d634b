"""Rich `Text` builders for untrusted item content. Widgets get `Text`, never markup strings.

Every string passes through `reviewer.safe_text` first, so control characters, escape
sequences and bidi overrides show as visible escapes instead of reaching the terminal.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from reviewer.diff import DiffLine
from reviewer.safe_text import DISPLAY_LIMIT, safe, safe_line
from reviewer.timefmt import age

__all__ = ["RISK_BADGE", "age", "countdown", "heading", "line", "plain", "render_inline", "render_side"]

STYLE = {"delete": "bold red strike", "insert": "bold green", "equal": ""}
RISK_BADGE = {"critical": "bold white on red", "high": "bold white on dark_orange3",
              "medium": "bold black on yellow", "low": "bold black on green"}

NARROW = 100  # columns below which the list narrows its columns and footers go compact


def plain(text: str | None, style: str = "", *, limit: int | None = DISPLAY_LIMIT) -> Text:
    """A multi-line untrusted string as inert Text."""
    return Text(safe(text, limit=limit), style=style, no_wrap=False)


def line(text: str | None, style: str = "", limit: int = 200) -> Text:
    """A one-line untrusted string as inert Text."""
    return Text(safe_line(text, limit), style=style)


def heading(title: str) -> Text:
    return Text(title, style="bold underline")


def countdown(deadline: datetime | None, now: datetime) -> Text:
    """Time left before an action's deadline, red when short."""
    if deadline is None:
        return Text("no deadline", style="dim")
    left = int((deadline - now).total_seconds())
    if left <= 0:
        return Text("deadline passed", style="bold red")
    m, s = divmod(left, 60)
    h, m = divmod(m, 60)
    text = f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
    return Text(f"{text} left", style="bold red" if left < 120 else "yellow" if left < 600 else "green")


def render_inline(lines: list[DiffLine]) -> Text:
    """A unified diff: `-` old and `+` new lines, changed words highlighted."""
    out = Text()
    for d in lines:
        if d.kind == "equal":
            out.append("  " + safe(d.old[0].text, limit=None) + "\n")
            continue
        if d.old:
            out.append("- ", style="red")
            for s in d.old:
                out.append(safe(s.text, limit=None), style=STYLE[s.tag] if d.kind == "replace" else "red")
            out.append("\n")
        if d.new:
            out.append("+ ", style="green")
            for s in d.new:
                out.append(safe(s.text, limit=None), style=STYLE[s.tag] if d.kind == "replace" else "green")
            out.append("\n")
    out.rstrip()
    return out


def render_side(lines: list[DiffLine]) -> tuple[Text, Text]:
    """Old and new columns, aligned row by row."""
    left, right = Text(), Text()
    for d in lines:
        for col, spans, colour in ((left, d.old, "red"), (right, d.new, "green")):
            if not spans:
                col.append("·\n", style="dim")
                continue
            for s in spans:
                style = colour if d.kind in ("insert", "delete") else STYLE[s.tag]
                col.append(safe(s.text, limit=None), style=style)
            col.append("\n")
    left.rstrip()
    right.rstrip()
    return left, right

