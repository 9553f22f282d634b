"""The text area both editors use (a correction, an action's arguments)."""

from __future__ import annotations

import re

from textual.binding import Binding
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")  # 30, 4,812, 3.5: what a correction most often fixes


DISCARD_S = 3.0  # a second Esc within this many seconds discards the edits


class EditorArea(TextArea):
    """A TextArea where ctrl+a selects all, as people expect (TextArea moves to the line
    start), and ctrl+n selects the next number, so fixing one figure is a key and the digits."""

    BINDINGS = [
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("ctrl+n", "select_number", "Next number", id="editor.next_number",
                tooltip="Select the next number after the cursor (from the top after the last)"),
    ]

    def action_select_number(self) -> None:
        lines = self.text.split("\n")
        row, col = self.selection.end
        at = sum(len(line) + 1 for line in lines[:row]) + col
        found = NUMBER.search(self.text, at) or NUMBER.search(self.text)
        if found is None:
            self.notify("No number in the text.", severity="warning")
            return
        self.selection = Selection(self._location(found.start()), self._location(found.end()))

    def _location(self, index: int) -> tuple[int, int]:
        before = self.text[:index]
        return before.count("\n"), index - (before.rfind("\n") + 1)

    def keep_edits(self, original: str) -> bool:
        """On Esc: True (stay, and say so) when there are edits and this is the first Esc
        in DISCARD_S seconds; the second one discards them."""
        import time

        if self.text == original or time.monotonic() - getattr(self, "_esc_at", -DISCARD_S) < DISCARD_S:
            return False
        self._esc_at = time.monotonic()
        self.notify("You have edits: Esc again to discard them, ctrl+s to save.", severity="warning")
        return True
