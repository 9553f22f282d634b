"""Modal screens: reject picker, correction editor and confirm, help, errors, full text."""

from __future__ import annotations

import json

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from reviewer.diff import diff
from reviewer.safe_text import DISPLAY_LIMIT, safe

from .text import line, plain, render_inline, render_side

DIFF_CHARS = DISPLAY_LIMIT


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


class CorrectScreen(ModalScreen[str | None]):
    """Edit the output; ctrl+s saves (then the diff is shown to confirm)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="correct.save"),
        Binding("escape", "cancel", "Cancel", id="correct.cancel"),
    ]

    def __init__(self, text: str, title: str = "Correct the output") -> None:
        super().__init__()
        self.text = text
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(Text(f"{self.title_text} · ctrl+s save · esc cancel", style="bold"))
            # Control characters are shown escaped, never sent raw to the terminal.
            yield TextArea(safe(self.text, limit=None), id="editor", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiffView(Vertical):
    """A diff shown inline or side by side. `show()` swaps its content in place."""

    def __init__(self, old: str = "", new: str = "", *, side: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = (old, new)
        self.side = side

    def compose(self) -> ComposeResult:
        yield Static(classes="diff-note")
        with VerticalScroll(classes="inline"):
            yield Static(classes="inline-text")
        with Horizontal(classes="side"):
            yield VerticalScroll(Static(classes="old-text"))
            yield VerticalScroll(Static(classes="new-text"))

    def on_mount(self) -> None:
        self.show(*self.texts, side=self.side)

    def show(self, old: str, new: str, *, side: bool = False) -> None:
        self.texts, self.side = (old, new), side
        lines = diff(old[:DIFF_CHARS], new[:DIFF_CHARS])
        note = self.query_one(".diff-note", Static)
        cut = max(len(old), len(new)) > DIFF_CHARS
        note.display = cut
        note.update(Text(f"… the diff covers the first {DIFF_CHARS:,} characters (v: full text)",
                         style="yellow") if cut else "")
        self.query_one(".inline").display = not side
        self.query_one(".side").display = side
        if side:
            left, right = render_side(lines)
            self.query_one(".old-text", Static).update(left)
            self.query_one(".new-text", Static).update(right)
        else:
            self.query_one(".inline-text", Static).update(render_inline(lines))


class ConfirmCorrection(ModalScreen[bool]):
    """Show the diff of a correction; Enter or y records it, Esc goes back to editing."""

    BINDINGS = [
        Binding("enter,y", "confirm", "Record correction", priority=True, id="confirm.yes"),
        Binding("escape,n", "back", "Back to editing", id="confirm.no"),
        Binding("d", "toggle_side", "Inline/side by side", id="confirm.toggle_diff"),
    ]

    def __init__(self, old: str, new: str, title: str = "Record this correction?") -> None:
        super().__init__()
        self.old, self.new = old, new
        self.side = False
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(f"{self.title_text}  enter: record · esc: edit · d: layout", style="bold"))
            yield DiffView(self.old, self.new, id="confirm-diff")
        yield Footer()

    def action_toggle_side(self) -> None:
        self.side = not self.side
        self.query_one("#confirm-diff", DiffView).show(self.old, self.new, side=self.side)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)


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
            yield Static(Text("esc: close · ctrl+p: command palette", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


class ErrorScreen(ModalScreen[bool]):
    """A readable error with a retry; dismisses True to retry."""

    BINDINGS = [
        Binding("r", "retry", "Retry", id="error.retry"),
        Binding("escape,enter", "close", "Dismiss", id="error.close"),
    ]

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.message, self.hint = message, hint

    def compose(self) -> ComposeResult:
        body = Text()
        body.append("Something went wrong\n\n", style="bold red")
        body.append_text(plain(self.message))
        if self.hint:
            body.append("\n\nhint: ", style="bold")
            body.append_text(plain(self.hint))
        body.append("\n\nr: retry · esc: dismiss", style="dim")
        with Vertical(id="error-box"):
            yield Static(body)

    def action_retry(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)


class FullTextScreen(ModalScreen[None]):
    """A huge field in full, read-only and escaped (the panes show a truncated view)."""

    BINDINGS = [Binding("escape,q,v", "close", "Close", id="fulltext.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(Text(f"{self.title_text} ({len(self.text):,} characters) · esc: close", style="bold"))
            yield TextArea(safe(self.text, limit=None), read_only=True, soft_wrap=True, id="fulltext")

    def action_close(self) -> None:
        self.dismiss(None)


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
            yield TextArea(safe(json.dumps(self.original, indent=2, ensure_ascii=False), limit=None),
                           id="editor", show_line_numbers=True)
            yield Static(id="arguments-error")
        yield Footer()

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
        self.dismiss(None)


class TypedConfirm(ModalScreen[bool]):
    """A critical action: type the tool's name to approve it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="typed.cancel")]

    def __init__(self, tool: str, what: str = "approve") -> None:
        super().__init__()
        self.tool = tool
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            t = Text("CRITICAL ", style="bold white on red")
            t.append(f" Type the tool name to {self.what} it:\n", style="bold")
            t.append_text(line(self.tool, "bold yellow", 80))
            yield Static(t)
            yield Input(placeholder="tool name, then Enter", id="typed")
            yield Static(id="typed-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.tool:
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Static).update(Text("That is not the tool name.", style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(False)
