"""The text area both editors use (a correction, an action's arguments) and the screen around
it: keys run in the order typed, however fast; ctrl+n picks the next number that is a value."""

from __future__ import annotations

import re
from typing import TypeVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea
from textual.widgets.text_area import Selection

NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")  # 30, 4,812, 3.5: what a correction most often fixes
# JSON strings and numbers, read without parsing (the text may be half edited)
JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"(?=\s*(:))?|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
AMOUNT_KEY = re.compile(r"amount|total|price|cost|fee|balance|qty|quantity|count|limit|rate|percent|size|"
                        r"days|hours|minutes|seconds|timeout|replicas", re.IGNORECASE)
ID_KEY = re.compile(r"(?:^|_)id$|iban|account|phone|number|code", re.IGNORECASE)

# One word per act, the same in the editor, the diff's confirmation, its footer and the toast.
CORRECT, CORRECTED = "Correct", "corrected"  # an output's text
APPROVE_EDITS, APPROVED_EDITS = "Approve with edits", "approved with edits"  # an action's arguments

DISCARD_ASK = "Discard your edits?  esc or y: discard · n or enter: keep editing · ctrl+s: save"

R = TypeVar("R")


def _glued(text: str, start: int, end: int) -> bool:
    """Digits that are part of a name (Q3, tr_1, INV-2026-1187, #20224), not a quantity (611m,
    $4,812, 90-day)."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before.isalpha() or before in "_#" or after == "_":
        return True
    if before in "-/" and start >= 2 and text[start - 2].isalnum():
        return True
    return after in "-/" and end + 1 < len(text) and text[end + 1].isdigit()


def number_spans(text: str, json_like: bool = False) -> list[tuple[int, int]]:
    """The spans ctrl+n walks, values first, then digits inside names and ids, each in text
    order. In JSON a value is a number, or a figure in an amount-like field's string
    ("amount": "48.50"); a figure in any other string ("order_id": "20224") is an id's."""
    values: list[tuple[int, int]] = []
    names: list[tuple[int, int]] = []
    if not json_like:
        for m in NUMBER.finditer(text):
            (names if _glued(text, m.start(), m.end()) else values).append(m.span())
        return values + names
    key = ""
    for token in JSON_TOKEN.finditer(text):
        if token.group(1) is not None:  # a key: the string before a colon
            key = token.group()[1:-1]
            continue
        if token.group().startswith('"'):
            amount = AMOUNT_KEY.search(key) and not ID_KEY.search(key)
            for m in NUMBER.finditer(token.group()):
                span = (token.start() + m.start(), token.start() + m.end())
                (values if amount else names).append(span)
        else:
            (names if ID_KEY.search(key) else values).append(token.span())
    return values + names


class EditorArea(TextArea):
    """A TextArea where ctrl+a selects all, as people expect (TextArea moves to the line
    start), ctrl+n selects the next number, so fixing one figure is a key and the digits,
    and ctrl+z undoes (a number typed over a picked one at once).

    Every key runs here, in the order typed: a binding left to the app runs after the keys
    queued behind it, so a fast `ctrl+n 9 9` typed the digits before the number was picked."""

    BINDINGS = [
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("ctrl+n", "select_number", "Next number", id="editor.next_number",
                tooltip="Select the next number after the cursor, values before ids (from the top after the last)"),
        Binding("ctrl+z", "undo", "Undo", id="editor.undo", tooltip="Undo the last edit"),
    ]

    def __init__(self, text: str, *, json_like: bool = False, **kw: object) -> None:
        super().__init__(text, **kw)  # type: ignore[arg-type]
        self.json_like = json_like
        self._picked_at: int | None = None  # undo batches when ctrl+n picked the number being typed

    async def _on_key(self, event: events.Key) -> None:
        await self.take_key(event)

    async def take_key(self, event: events.Key) -> None:
        """Handle one key now: this area's bindings, then its screen's, then typing. A key
        none of them takes goes on to the app as usual (ctrl+p)."""
        if self.screen is not self.app.screen:
            # typed after a key that closed this editor (or opened a dialog over it): the
            # next screen's, as the app would have sent it had it been typed a moment later
            self.app.post_message(events.Key(event.key, event.character))
            event.stop()
            return
        if isinstance(self.screen, EditorScreen) and self.screen.answer(event.key):
            event.stop()
            event.prevent_default()
            return
        if event.key not in ("ctrl+n", "ctrl+z") and not event.is_printable:
            self._picked_at = None  # moved away: ctrl+z is one edit again
        for node in self.ancestors_with_self:
            for binding in node._bindings.key_to_bindings.get(event.key, ()):
                if await self.app.run_action(binding.action, node):
                    event.stop()
                    event.prevent_default()
                    return
            if node is self.screen:
                break
        await super()._on_key(event)

    def action_select_number(self) -> None:
        spans = number_spans(self.text, self.json_like)
        if not spans:
            self.notify("No number in the text.", severity="warning")
            return
        start, end = self._offset(self.selection.start), self._offset(self.selection.end)
        first, last = min(start, end), max(start, end)
        if (first, last) in spans:  # the one picked before: the next in line
            pick = spans[(spans.index((first, last)) + 1) % len(spans)]
        else:  # the first value after the cursor, else the first one
            pick = next((s for s in spans if s[0] >= last), spans[0])
        self.history.checkpoint()
        self._picked_at = len(self.history.undo_stack)
        self.selection = Selection(self._location(pick[0]), self._location(pick[1]))

    def action_undo(self) -> None:
        """Undo the last edit; a number typed over a picked one comes back whole."""
        steps = 1
        if self._picked_at is not None:
            steps = max(1, len(self.history.undo_stack) - self._picked_at)
            self._picked_at = None
        for _ in range(steps):
            self.undo()

    def _offset(self, location: tuple[int, int]) -> int:
        row, col = location
        return sum(len(line) + 1 for line in self.text.split("\n")[:row]) + col

    def _location(self, index: int) -> tuple[int, int]:
        before = self.text[:index]
        return before.count("\n"), index - (before.rfind("\n") + 1)


class EditorScreen(ModalScreen[R]):
    """A modal around one EditorArea (#editor). Keys typed before the area has the focus are
    handled here, in order; the area takes the focus once none is left queued, so a key sent
    to it cannot overtake one still waiting for the screen. Esc cancels an unchanged text at
    once and asks first when there are edits (in the screen, so keys typed ahead of the
    question answer it in order)."""

    AUTO_FOCUS = ""  # the focus waits for the keys typed ahead (see _focus_when_caught_up)

    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start  # the text the editor opened with
        self.asking = False  # Esc asked whether to discard the edits

    @property
    def area(self) -> EditorArea:
        return self.query_one("#editor", EditorArea)

    def on_mount(self) -> None:
        self._focus_when_caught_up()

    def _focus_when_caught_up(self) -> None:
        if not self._message_queue.empty():
            self.call_later(self._focus_when_caught_up)
            return
        self.set_focus(self.area)

    async def on_key(self, event: events.Key) -> None:
        if not self.area.has_focus:
            await self.area.take_key(event)

    def action_cancel(self) -> None:
        if self.area.text == self.start or self.asking:  # unchanged, or a second Esc
            self.dismiss(None)
            return
        self.asking = True
        self.query_one("#editor-ask", Static).display = True

    def answer(self, key: str) -> bool:
        """While Esc's question is up: y or Esc discards, n or Enter keeps editing (the key
        is the answer's, not the text's). False: no question, the key is the editor's."""
        if not self.asking or key not in ("y", "n", "enter", "escape"):
            return False
        self.asking = False
        self.query_one("#editor-ask", Static).display = False
        if key in ("y", "escape"):
            self.dismiss(None)
        return True

    def ask(self) -> Static:
        """The question Esc asks when there are edits, hidden until then."""
        ask = Static(Text(DISCARD_ASK, style="bold yellow"), id="editor-ask")
        ask.display = False
        return ask

    def action_save(self) -> None:
        raise NotImplementedError
