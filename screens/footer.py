"""`KeyFooter`: Textual's footer, made to fit below NARROW columns so the deciding keys all
show: compact, without the palette's entry (ctrl+p still opens it) and without the keys
listed in NARROW_HIDDEN (still in `?` and the palette)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from .text import NARROW

NARROW_HIDDEN = {"edit_external", "edit_arguments", "reload"}  # `e`: `c` corrects too; ctrl+r


class KeyFooter(Footer):
    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if not (self.compact and isinstance(widget, FooterKey) and widget.action in NARROW_HIDDEN):
                yield widget

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        if narrow != self.compact:
            self.compact = narrow
            self.show_command_palette = not narrow
            self.refresh(recompose=True)
