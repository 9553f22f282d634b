"""A one-line comment for a decision (approve with a comment)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class CommentDialog(ModalScreen[str | None]):
    """Type a comment; Enter records the decision with it, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="comment.cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"))
            yield Input(placeholder="comment, then Enter", id="comment")
            yield Static(Text("enter: record · esc: cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify("Type a comment, or Esc and press a to approve without one.", severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
