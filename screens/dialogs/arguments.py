"""The JSON editor for an action's arguments."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from reviewer.safe_text import safe_json

from ..footer import KeyFooter
from ..text import line
from .confirm import ConfirmCorrection
from .editor import APPROVE_EDITS, EditorArea, EditorScreen


class ArgumentsEditor(EditorScreen[dict | None]):
    """Edit an action's arguments as JSON; ctrl+s checks them (valid JSON, still an object)."""

    # Not priority bindings: the editor runs them in the order typed (see EditorArea).
    BINDINGS = [
        Binding("ctrl+s", "save", "Check and continue", id="arguments.save"),
        Binding("escape", "cancel", "Cancel", id="arguments.cancel"),
    ]

    def __init__(self, tool: str, arguments: dict) -> None:
        # JSON whose control characters are \u escapes: inert on screen, and the same
        # value when it is saved unedited (a visible `\x9b` was not valid JSON)
        super().__init__(safe_json(json.dumps(arguments, indent=2, ensure_ascii=False)))
        self.tool = tool
        self.original = arguments

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(line(f"{APPROVE_EDITS}: {self.tool} · ctrl+n next number · ctrl+s: check, then "
                              "confirm the diff · esc: cancel", "bold", 200))
            yield EditorArea(self.start, id="editor", show_line_numbers=True, json_like=True)
            yield self.ask()
            yield Static(id="arguments-error")
        yield KeyFooter()

    def action_save(self) -> None:
        text = self.area.text
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


class ConfirmEdits(ConfirmCorrection):
    """The diff of edited arguments against the request: Enter approves the action with them."""

    BINDINGS = [
        Binding("enter,y", "confirm", APPROVE_EDITS, priority=True, id="confirm.yes"),
        Binding("m", "comment", f"{APPROVE_EDITS}, with a comment", id="confirm.comment"),
    ]

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old, new, title=f"{APPROVE_EDITS}?")
