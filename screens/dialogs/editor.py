"""The text area both editors use (a correction, an action's arguments)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import TextArea


class EditorArea(TextArea):
    """A TextArea where ctrl+a selects all, as people expect (TextArea moves to the line start)."""

    BINDINGS = [Binding("ctrl+a", "select_all", "Select all", show=False)]
