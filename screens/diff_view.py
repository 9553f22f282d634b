"""The diff widget: a word-level diff of two texts, inline or side by side."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from reviewer.diff import diff
from reviewer.safe_text import DISPLAY_LIMIT

from .text import render_inline, render_side

DIFF_CHARS = DISPLAY_LIMIT


class DiffView(Vertical):
    """A diff shown inline or side by side. `show()` swaps its content in place."""

    def __init__(self, old: str = "", new: str = "", *, side: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = (old, new)
        self.side = side

    def compose(self) -> ComposeResult:
        yield Static(classes="diff-note")
        with VerticalScroll(classes="inline"):
            yield Static(classes="inline-text")
        with Horizontal(classes="side"):
            yield VerticalScroll(Static(classes="old-text"))
            yield VerticalScroll(Static(classes="new-text"))

    def on_mount(self) -> None:
        self.show(*self.texts, side=self.side)

    def show(self, old: str, new: str, *, side: bool = False) -> None:
        self.texts, self.side = (old, new), side
        lines = diff(old[:DIFF_CHARS], new[:DIFF_CHARS])
        note = self.query_one(".diff-note", Static)
        cut = max(len(old), len(new)) > DIFF_CHARS
        note.display = cut
        note.update(Text(f"… the diff covers the first {DIFF_CHARS:,} characters (v: full text)",
                         style="yellow") if cut else "")
        self.query_one(".inline").display = not side
        self.query_one(".side").display = side
        if side:
            left, right = render_side(lines)
            self.query_one(".old-text", Static).update(left)
            self.query_one(".new-text", Static).update(right)
        else:
            self.query_one(".inline-text", Static).update(render_inline(lines))
