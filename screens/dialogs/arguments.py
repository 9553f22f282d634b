"""The JSON editor for an action's arguments."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from reviewer.safe_text import safe_json

from ..footer import KeyFooter
from ..text import line
from .editor import EditorArea


class ArgumentsEditor(ModalScreen[dict | None]):
    """Edit an action's arguments as JSON; ctrl+s checks them (valid JSON, still an object)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Check and continue", priority=True, id="arguments.save"),
        Binding("escape", "cancel", "Cancel", id="arguments.cancel"),
    ]

    def __init__(self, tool: str, arguments: dict) -> None:
        super().__init__()
        self.tool = tool
        self.original = arguments

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(line(f"Edit the arguments of {self.tool} · ctrl+s: check, then confirm the diff · "
                              "esc: cancel", "bold", 200))
            # JSON whose control characters are \u escapes: inert on screen, and the same
            # value when it is saved unedited (a visible `\x9b` was not valid JSON)
            yield EditorArea(safe_json(json.dumps(self.original, indent=2, ensure_ascii=False)),
                           id="editor", show_line_numbers=True)
            yield Static(id="arguments-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        error = self.query_one("#arguments-error", Static)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            error.update(Text(f"Not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", style="bold red"))
            return
        if not isinstance(value, dict):
            error.update(Text(f"The arguments must stay a JSON object (got {type(value).__name__}).",
                              style="bold red"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        shown = safe_json(json.dumps(self.original, indent=2, ensure_ascii=False))
        if not self.query_one(EditorArea).keep_edits(shown):
            self.dismiss(None)
