"""The reject dialog: pick reasons, add a comment."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection


class RejectDialog(ModalScreen[tuple[list[str], str | None] | None]):
    """Pick one or more reasons (digits or space toggle), add an optional comment, Enter."""

    BINDINGS = [
        Binding("enter", "submit", "Reject", priority=True, id="reject.submit"),
        Binding("escape", "cancel", "Cancel", id="reject.cancel"),
        Binding("tab", "comment", "Comment", id="reject.comment", priority=True),
        *[Binding(str(n), f"toggle_reason({n - 1})", show=False, id=f"reject.toggle_{n}") for n in range(1, 10)],
    ]

    def __init__(self, reasons: list[str], title: str = "Reject") -> None:
        super().__init__()
        self.reasons = reasons
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"{self.title_text}: why?", style="bold"), id="dialog-title")
            yield SelectionList[str](
                *[Selection(Text(f"{i}  {r}" if i < 10 else f"   {r}"), r)
                  for i, r in enumerate(self.reasons, 1)],
                id="reasons",
            )
            yield Input(placeholder="comment (optional), Enter to reject", id="comment")
            yield Static(Text("1-9 or space: toggle · tab: comment · enter: reject · esc: cancel",
                              style="dim"))

    def on_mount(self) -> None:
        self.query_one("#reasons", SelectionList).focus()

    def action_toggle_reason(self, index: int) -> None:
        if isinstance(self.focused, Input):
            self.focused.insert_text_at_cursor(str(index + 1))
            return
        sl = self.query_one("#reasons", SelectionList)
        if index < len(self.reasons):
            sl.toggle(self.reasons[index])

    def action_comment(self) -> None:
        target = "#reasons" if isinstance(self.focused, Input) else "#comment"
        self.query_one(target).focus()

    def action_submit(self) -> None:
        chosen = list(self.query_one("#reasons", SelectionList).selected)
        comment = self.query_one("#comment", Input).value.strip() or None
        if not chosen:
            self.notify("Pick at least one reason (1-9 or space).", severity="warning", markup=False)
            return
        ordered = [r for r in self.reasons if r in chosen]
        self.dismiss((ordered, comment))

    def action_cancel(self) -> None:
        self.dismiss(None)
