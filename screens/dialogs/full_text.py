"""A huge field in full, read-only."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from reviewer.safe_text import safe


class FullTextScreen(ModalScreen[None]):
    """A huge field in full, read-only and escaped (the panes show a truncated view)."""

    BINDINGS = [Binding("escape,q,v", "close", "Close", id="fulltext.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(Text(f"{self.title_text} ({len(self.text):,} characters) · esc: close", style="bold"))
            yield TextArea(safe(self.text, limit=None), read_only=True, soft_wrap=True, id="fulltext")

    def action_close(self) -> None:
        self.dismiss(None)
