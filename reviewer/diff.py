"""Line diffs with word-level detail inside changed lines (difflib), for the review screens."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

MAX_LINES = 5000  # beyond this the rest is compared as one block
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")

Tag = Literal["equal", "insert", "delete"]


@dataclass
class Span:
    text: str
    tag: Tag


@dataclass
class DiffLine:
    """One row of a diff: `equal`, `insert` (new only), `delete` (old only) or `replace`."""

    kind: Literal["equal", "insert", "delete", "replace"]
    old: list[Span] = field(default_factory=list)
    new: list[Span] = field(default_factory=list)


def _cap(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[: MAX_LINES - 1], "\n".join(lines[MAX_LINES - 1 :])]


def word_diff(old: str, new: str) -> tuple[list[Span], list[Span]]:
    """Spans of `old` (equal/delete) and `new` (equal/insert), compared word by word."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[Span] = []
    right: list[Span] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            left.append(Span("".join(a[i1:i2]), "equal"))
            right.append(Span("".join(b[j1:j2]), "equal"))
            continue
        if i2 > i1:
            left.append(Span("".join(a[i1:i2]), "delete"))
        if j2 > j1:
            right.append(Span("".join(b[j1:j2]), "insert"))
    return left, right


def diff(old: str, new: str) -> list[DiffLine]:
    """The diff of two texts, line by line, with word spans inside replaced lines."""
    a, b = _cap(old.splitlines()), _cap(new.splitlines())
    out: list[DiffLine] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(DiffLine("equal", [Span(x, "equal")], [Span(x, "equal")]) for x in a[i1:i2])
        elif tag == "delete":
            out.extend(DiffLine("delete", old=[Span(x, "delete")]) for x in a[i1:i2])
        elif tag == "insert":
            out.extend(DiffLine("insert", new=[Span(x, "insert")]) for x in b[j1:j2])
        else:
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                if k < len(olds) and k < len(news):
                    left, right = word_diff(olds[k], news[k])
                    out.append(DiffLine("replace", left, right))
                elif k < len(olds):
                    out.append(DiffLine("delete", old=[Span(olds[k], "delete")]))
                else:
                    out.append(DiffLine("insert", new=[Span(news[k], "insert")]))
    return out


def changed(lines: list[DiffLine]) -> bool:
    return any(d.kind != "equal" for d in lines)
