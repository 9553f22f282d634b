"""The reject dialog: pick reasons, add a comment."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, SelectionList, Static
from textual.widgets.selection_list import Selection

REASON_KEYS = "1234567890"  # the first ten reasons' keys, in order (0 is the tenth)


def reason_key(index: int) -> str | None:
    """The key that toggles the reason at `index` (0-based), if it has one."""
    return REASON_KEYS[index] if index < len(REASON_KEYS) else None


class ReasonList(SelectionList[str], inherit_bindings=False):
    """The reasons, moved through with the arrows. Enter and space are the dialog's: Enter
    typed ahead of a dialog still opening reached the list and ticked whatever row was
    highlighted, a reason nobody picked."""

    BINDINGS = [b for b in OptionList.BINDINGS if isinstance(b, Binding) and b.key != "enter"]


class RejectDialog(ModalScreen[tuple[list[str], str | None] | None]):
    """Pick one or more reasons (digits or space toggle), add an optional comment, Enter."""

    # Only Escape is a binding. Every other key is handled in `on_key`, in the order typed:
    # binding actions run after the keys queued behind them, so a fast `tab too risky enter`
    # submitted before the comment was typed.
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reject.cancel")]

    def __init__(self, reasons: list[str], title: str = "Reject", chosen: list[str] | None = None) -> None:
        super().__init__()
        self.reasons = reasons
        self.chosen = set(chosen or [])  # ticked when it opens (a judge's suggested reasons)
        self.title_text = title
        self._commenting = False  # Tab went to the comment (its focus may still be on the way)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"{self.title_text}: why?", style="bold"), id="dialog-title")
            yield ReasonList(
                *[Selection(Text(f"{key}  {r}" if (key := reason_key(i)) else f"   {r}"), r, r in self.chosen)
                  for i, r in enumerate(self.reasons)],
                id="reasons",
            )
            yield Input(placeholder="comment (optional), Enter to reject", id="comment")
            yield Static(Text(f"{'0-9' if len(self.reasons) >= 10 else '1-9'} toggle · tab comment · "
                              "enter reject · esc cancel",
                              style="dim"))

    def on_mount(self) -> None:
        self.query_one("#reasons", SelectionList).focus()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_submit()

    def on_key(self, event: events.Key) -> None:
        """1-9 or space toggle a reason, Tab goes to the comment and back, Enter rejects; text
        typed after Tab is the comment's, even before the comment field has the focus."""
        key = event.key
        if key == "tab":
            self.action_comment()
        elif key == "enter":
            self.action_submit()
        elif self._commenting:
            comment = self.query_one("#comment", Input)
            if comment.has_focus or not (event.is_printable and event.character):
                return
            comment.insert_text_at_cursor(event.character)
        elif len(key) == 1 and key in REASON_KEYS:
            self.action_toggle_reason(REASON_KEYS.index(key))
        elif key == "space":
            self.action_toggle_highlighted()
        else:
            return
        event.stop()
        event.prevent_default()

    def action_toggle_reason(self, index: int) -> None:
        sl = self.query_one("#reasons", SelectionList)
        if index < len(self.reasons):
            sl.toggle(self.reasons[index])

    def action_toggle_highlighted(self) -> None:
        sl = self.query_one("#reasons", SelectionList)
        if sl.highlighted is not None:
            sl.toggle(sl.get_option_at_index(sl.highlighted).value)

    def action_comment(self) -> None:
        self._commenting = not self._commenting
        self.query_one("#comment" if self._commenting else "#reasons").focus()

    def action_submit(self) -> None:
        chosen = list(self.query_one("#reasons", SelectionList).selected)
        comment = self.query_one("#comment", Input).value.strip() or None
        if not chosen:
            self.notify("Pick at least one reason (its digit, or space).", severity="warning", markup=False)
            return
        ordered = [r for r in self.reasons if r in chosen]
        self.dismiss((ordered, comment))

    def action_cancel(self) -> None:
        self.dismiss(None)
