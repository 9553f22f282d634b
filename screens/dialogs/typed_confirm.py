"""Type the tool name to approve a critical action."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..text import line


class TypedConfirm(ModalScreen[bool]):
    """A critical action: type the tool's name to approve it. `change`: who edited the
    arguments this approval runs, and the diff against the agent's request, shown above."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="typed.cancel")]

    def __init__(self, tool: str, what: str = "approve", change: tuple[str, Text] | None = None) -> None:
        super().__init__()
        self.tool = tool
        self.what = what
        self.change = change

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="change" if self.change else ""):
            t = Text("CRITICAL ", style="bold white on red")
            if self.change is not None:
                t.append(f" You {self.what} the arguments edited by ", style="bold")
                t.append_text(line(self.change[0], "bold yellow", 60))
                t.append(", not the agent's:", style="bold")
                yield Static(t)
                yield VerticalScroll(Static(self.change[1]), id="typed-change")
                t = Text()
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
