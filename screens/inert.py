"""The last check before the terminal, for every line the app draws."""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from reviewer.safe_text import has_controls, one_cell


class InertFilter(LineFilter):
    """Replace any control or bidi character in a drawn segment by one visible cell.

    Item text is escaped long before this (`screens.text.plain` and `line`); the filter makes
    a spot that was missed show `␛` instead of letting the terminal act on it.
    """

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not has_controls("".join(s.text for s in segments)):
            return segments  # the usual case: one scan of the line, nothing rebuilt
        return [s if s.control else Segment(one_cell(s.text), s.style) for s in segments]
