"""Make untrusted item text inert for a terminal. Every view (CLI and TUI) goes through here.

Markup is handled by never parsing it (`Text(...)`, `markup=False`); this module handles what
reaches the terminal even then: C0/C1 control characters (ESC starts colour codes, OSC 0 sets
the window title, OSC 52 writes the clipboard), DEL, and bidi overrides that reorder what the
reviewer sees. They are shown as visible escapes such as `\\x1b` or `\\u202e`.

`CONTROL_CHARS` is the one definition of what is unsafe: names (ids, tags, tools, reviewers)
may not contain any of it (see `reviewer.models.Label`), and every string from an item, keys
of free objects included, is shown through `safe`, `safe_line` or `safe_json`.
"""

from __future__ import annotations

import re

# C0 except tab/newline, DEL, C1, bidi embeddings/overrides/isolates/marks, line/para
# separators and the BOM. A regex character class body, shared with the name validator.
CONTROL_CHARS = (r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                 r"\u2028\u2029\ufeff")
_UNSAFE = re.compile(f"[{CONTROL_CHARS}]")
_UNSAFE_LINE = re.compile(f"[{CONTROL_CHARS}\t\n]")
_UNSAFE_JSON = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")
DISPLAY_LIMIT = 20_000


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    if ch == "\n":
        return "⏎ "
    if ch == "\t":
        return " "
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str | None, *, limit: int | None = DISPLAY_LIMIT) -> str:
    """`text` with control and bidi characters escaped; newlines and tabs kept.

    Cut at `limit` characters with a note of how much is hidden (storage keeps it all).
    """
    if not text:
        return ""
    hidden = 0
    if limit is not None and len(text) > limit:
        hidden = len(text) - limit
        text = text[:limit]
    out = _UNSAFE.sub(_escape, text)
    if hidden:
        out += f"\n… {hidden:,} more characters hidden"
    return out


def safe_line(text: str | None, limit: int = 200) -> str:
    """One line: control characters escaped, newlines and tabs shown as spaces, cut at `limit`."""
    if not text:
        return ""
    text = text[: limit * 4]
    out = _UNSAFE_LINE.sub(_escape, text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def safe_json(text: str) -> str:
    """JSON text (from `json.dumps` or pydantic) with every character a terminal could act on
    written as a `\\uXXXX` escape: the same data, nothing raw on screen.

    JSON encoders already escape C0; DEL, C1 and bidi controls can only occur inside strings,
    where a `\\u` escape means the same character.
    """
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _picture(m: re.Match[str]) -> str:
    code = ord(m.group())
    return chr(0x2400 + code) if code < 0x20 else "␡" if code == 0x7F else "�"


def has_controls(text: str) -> bool:
    """Whether `text` holds any character `safe_line` would escape."""
    return _UNSAFE_LINE.search(text) is not None


def one_cell(text: str) -> str:
    """`text` with each control or bidi character replaced by one visible cell (`␛`, `�`).

    For a last check on what is about to be drawn, where the width must not change."""
    return _UNSAFE_LINE.sub(_picture, text) if has_controls(text) else text
