"""The correction editor for an output."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from reviewer.safe_text import safe

from ..footer import KeyFooter
from .editor import EditorArea, EditorScreen


class CorrectScreen(EditorScreen[str | None]):
    """Edit the output; ctrl+s saves (then the diff is shown to confirm)."""

    # Not priority bindings: the editor runs them in the order typed (see EditorArea).
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="correct.save"),
        Binding("escape", "cancel", "Cancel", id="correct.cancel"),
    ]

    def __init__(self, text: str, title: str = "Correct the output") -> None:
        # Control characters are shown escaped, never sent raw to the terminal.
        super().__init__(safe(text, limit=None))
        self.text = text
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(Text(f"{self.title_text} · ctrl+n next number · ctrl+s save · esc cancel", style="bold"))
            yield EditorArea(self.start, id="editor", soft_wrap=True, show_line_numbers=False)
            yield self.ask()
        yield KeyFooter()

    def action_save(self) -> None:
        self.dismiss(self.area.text)
