"""The confirmation of a bulk decision: how many items, a sample of them, what is left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from reviewer.safe_text import safe_line

if TYPE_CHECKING:
    from reviewer.models import ItemSummary

SAMPLE = 5  # items shown by name


class BulkConfirm(ModalScreen[bool]):
    """`y` or Enter decides every item listed; `n` or Esc goes back with the marks kept."""

    BINDINGS = [
        Binding("y,enter", "confirm", "Yes", id="bulk.confirm"),
        Binding("n,escape", "cancel", "No", id="bulk.cancel"),
    ]

    def __init__(self, verb: str, rows: list[ItemSummary], left_out: list[tuple[ItemSummary, str]],
                 reasons: list[str] | None = None) -> None:
        super().__init__()
        self.verb, self.rows, self.left_out, self.reasons = verb, rows, left_out, reasons or []

    def compose(self) -> ComposeResult:
        n = len(self.rows)
        t = Text()
        t.append(f"{self.verb} {n:,} item{'s' if n != 1 else ''}", style="bold")
        if self.reasons:
            t.append(" as " + ", ".join(safe_line(r, 40) for r in self.reasons), style="bold")
        t.append("?\n", style="bold")
        for s in self.rows[:SAMPLE]:
            t.append(f"  {safe_line(s.id, 28)}", style="bold")
            t.append(f"  {safe_line(s.snippet, 60)}\n", style="dim")
        if n > SAMPLE:
            t.append(f"  … and {n - SAMPLE:,} more\n", style="dim")
        for s, why in self.left_out[:SAMPLE]:
            t.append(f"  left out {safe_line(s.id, 28)}: {why}\n", style="yellow")
        if len(self.left_out) > SAMPLE:
            t.append(f"  … and {len(self.left_out) - SAMPLE:,} more left out\n", style="yellow")
        with Vertical(id="dialog"):
            yield Static(t, id="bulk-summary")
            yield Static(Text("y / enter: yes, all of them · n / esc: no · u afterwards undoes the batch",
                              style="dim"))

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
