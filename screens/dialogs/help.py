"""Every key of the current screen, with its id."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Every key of the screen below, with its binding id for remapping."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        table = Table(title=f"Keys: {self.title_text}", expand=True, show_edge=False)
        table.add_column("key", style="bold cyan", max_width=16)
        table.add_column("does", ratio=1)
        table.add_column(Text("id (remap in reviewer.toml [keymap])"), style="dim", no_wrap=True)
        for key, desc, bid in self.rows:
            table.add_row(Text(key), Text(desc), Text(bid))
        with Vertical(id="help-box"):
            yield VerticalScroll(Static(table))
            yield Static(Text("esc: close · ctrl+p: command palette" + settings_read(), style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


def settings_read() -> str:
    """Which reviewer.toml files the app read (none in a clean environment)."""
    from reviewer.config import config_files

    files = config_files()
    return (" · settings from " + ", ".join(str(f.path) for f in files)) if files else ""
