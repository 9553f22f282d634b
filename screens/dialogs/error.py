"""A worker's error, readable, with a retry."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..text import plain


class ErrorScreen(ModalScreen[bool]):
    """A readable error with a retry; dismisses True to retry."""

    BINDINGS = [
        Binding("r", "retry", "Retry", id="error.retry"),
        Binding("escape,enter", "close", "Dismiss", id="error.close"),
    ]

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.message, self.hint = message, hint

    def compose(self) -> ComposeResult:
        body = Text()
        body.append("Something went wrong\n\n", style="bold red")
        body.append_text(plain(self.message))
        if self.hint:
            body.append("\n\nhint: ", style="bold")
            body.append_text(plain(self.hint))
        body.append("\n\nr: retry · esc: dismiss", style="dim")
        with Vertical(id="error-box"):
            yield Static(body)

    def action_retry(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
