"""The correction editor for an output."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from reviewer.safe_text import safe

from ..footer import KeyFooter
from .editor import EditorArea


class CorrectScreen(ModalScreen[str | None]):
    """Edit the output; ctrl+s saves (then the diff is shown to confirm)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="correct.save"),
        Binding("escape", "cancel", "Cancel", id="correct.cancel"),
    ]

    def __init__(self, text: str, title: str = "Correct the output") -> None:
        super().__init__()
        self.text = text
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(Text(f"{self.title_text} · ctrl+s save · esc cancel", style="bold"))
            # Control characters are shown escaped, never sent raw to the terminal.
            yield EditorArea(safe(self.text, limit=None), id="editor", soft_wrap=True, show_line_numbers=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        if not self.query_one(EditorArea).keep_edits(safe(self.text, limit=None)):
            self.dismiss(None)
