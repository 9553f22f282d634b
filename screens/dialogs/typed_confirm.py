"""Type the tool name to approve a critical action."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..text import line


class TypedConfirm(ModalScreen[bool]):
    """A critical action: type the tool's name to approve it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="typed.cancel")]

    def __init__(self, tool: str, what: str = "approve") -> None:
        super().__init__()
        self.tool = tool
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            t = Text("CRITICAL ", style="bold white on red")
            t.append(f" Type the tool name to {self.what} it:\n", style="bold")
            t.append_text(line(self.tool, "bold yellow", 80))
            yield Static(t)
            yield Input(placeholder="tool name, then Enter", id="typed")
            yield Static(id="typed-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.tool:
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Static).update(Text("That is not the tool name.", style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(False)
