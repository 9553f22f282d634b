"""Confirm a correction (or edited arguments) by its diff."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..diff_view import DiffView
from ..footer import KeyFooter
from .editor import CORRECT


class ConfirmCorrection(ModalScreen[bool | str]):
    """Show the diff of a correction; Enter or y records it, m records it with a comment
    (answered as the comment's text), Esc goes back to editing."""

    BINDINGS = [
        Binding("enter,y", "confirm", CORRECT, priority=True, id="confirm.yes"),
        Binding("escape,n", "back", "Back to editing", id="confirm.no"),
        Binding("m", "comment", f"{CORRECT}, with a comment", id="confirm.comment"),
        Binding("d", "toggle_side", "Inline/side by side", id="confirm.toggle_diff"),
    ]

    def __init__(self, old: str, new: str, title: str = f"{CORRECT} the output like this?") -> None:
        super().__init__()
        self.old, self.new = old, new
        self.side = False
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(f"{self.title_text}  enter: record · m: with a comment · esc: edit · d: layout",
                              style="bold"))
            yield DiffView(self.old, self.new, id="confirm-diff")
        yield KeyFooter()

    def action_toggle_side(self) -> None:
        self.side = not self.side
        self.query_one("#confirm-diff", DiffView).show(self.old, self.new, side=self.side)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_comment(self) -> None:
        from .comment import CommentDialog

        def commented(text: str | None) -> None:
            if text is not None:
                self.dismiss(text)

        self.app.push_screen(CommentDialog("A comment for this correction:"), commented)

    def action_back(self) -> None:
        self.dismiss(False)
