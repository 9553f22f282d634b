"""`QueueList`: a virtual list of queue rows, paged from the queue as they scroll into view.

Like toolong's LogLines, it is a ScrollView whose `virtual_size` is the full row count;
`render_line(y)` draws a row from a page cache and asks a thread worker for pages it lacks.
No widget per row, so 100k items cost what one screenful costs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker

from reviewer.safe_text import safe_line
from reviewer.timefmt import utcnow

from .source import Source
from .text import NARROW, age

if TYPE_CHECKING:
    from reviewer.models import ItemSummary

PAGE = 100
CURSOR = Style(bgcolor="#264f78", bold=True)
CURSOR_BLUR = Style(bgcolor="#3a3d41")
MAX_PAGES = 64
RISK_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "green"}
RISK_SHORT = {"critical": "CRIT", "medium": "MED"}  # the kind/risk column below NARROW columns
STATUS_STYLE = {"pending": "", "claimed": "cyan", "decided": "dim green", "expired": "dim red"}


def row_text(s: ItemSummary, now: datetime, width: int, marked: bool | None = None) -> Text:
    """One queue row: [mark,] priority, kind/risk, queue, status, age, why, snippet. The mark
    column shows while any row is marked (`marked` is then not None).

    Below NARROW columns the arguments of an action get the room: risks are abbreviated (CRIT,
    MED), its tool call (the snippet, which starts with the tool) stands in the why column, and
    the status column goes; a status other than pending leads the snippet instead (`@ann`,
    `approved`)."""
    narrow = width < NARROW
    queue_w, why_w = (12, 18) if narrow else (18, 32)
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    if marked is not None:
        t.append("● " if marked else "  ", style="bold yellow")
    t.append(f"P{s.priority} ", style="bold" if s.priority == 0 else "")
    kind_w = 4 if narrow else 8
    if s.kind == "action":
        risk = RISK_SHORT.get(s.risk or "", s.risk or "") if narrow else s.risk or ""
        t.append(f"{risk.upper():{kind_w}.{kind_w}} ", style=RISK_STYLE.get(s.risk or "", ""))
    else:
        t.append(f"{'out' if narrow else 'output':{kind_w}} ", style="dim")
    t.append(f"{safe_line(s.queue, queue_w):{queue_w}.{queue_w}} ", style="blue")
    state = s.status if not s.claimed_by else f"@{s.claimed_by}"
    if s.verdict:
        state = f"{s.verdict}"
    disputed = s.verdict == "disputed"  # k reviewers disagreed: it waits for an adjudicator
    state_style = "bold magenta" if disputed else STATUS_STYLE.get(s.status, "")
    if not narrow:
        t.append(f"{safe_line(state, 10):10.10} ", style=state_style)
    if s.kind == "action" and s.expires_at and s.status in ("pending", "claimed"):
        t.append(f"{age(s.expires_at, now):>6.6} ", style="bold yellow")
    else:
        t.append(f"{age(s.created_at, now):>6.6} ", style="dim")
    if s.kind == "action":
        why = safe_line(s.tool, 30)
    else:
        why = ", ".join(
            safe_line(f.reason.split(".")[-1], 24) + (f" {f.score:.2f}" if f.score is not None else "")
            for f in s.flags
        )
    if not (narrow and s.kind == "action"):
        t.append(f"{why:{why_w}.{why_w}} ", style="magenta")
    if narrow and state != "pending":
        t.append(f"{safe_line(state, 20)} ", style=state_style or "bold")
    t.append(safe_line(s.snippet, max(0, width)))
    return t


@dataclass
class _Page:
    rows: list[ItemSummary]


class QueueList(ScrollView, can_focus=True):
    """The virtual item list. Post `Opened` on enter; `Moved` when the cursor moves."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="list.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="list.last"),
        Binding("enter", "open", "Open", id="list.open", tooltip="Review the item under the cursor"),
        Binding("space", "mark", "Mark", id="list.mark",
                tooltip="Mark or unmark the item for a bulk decision, then move down"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Opened(Message):
        def __init__(self, index: int, summary: ItemSummary | None) -> None:
            super().__init__()
            self.index = index
            self.summary = summary

    class MarksChanged(Message):
        """The set of marked items changed (the screen shows the count)."""

    class PageLoaded(Message):
        def __init__(self, generation: int, page: int, rows: list[ItemSummary]) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.rows = rows

    def __init__(self, *, clock: Callable[[], datetime] = utcnow, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.source: Source | None = None
        self.total = 0
        self.generation = 0
        self._pages: OrderedDict[int, _Page] = OrderedDict()
        self._wanted: set[int] = set()
        self.empty_message = "Loading…"
        self.marked: dict[str, ItemSummary] = {}  # for a bulk decision, in the order marked

    # -- data ---------------------------------------------------------------------------

    def set_source(self, source: Source, total: int, first: list[ItemSummary] | None = None,
                   keep_cursor: bool = False) -> None:
        """Show `source` (with `total` rows); `first` is page 0 when already fetched."""
        self.source = source
        self.total = total
        self.generation += 1
        self._pages.clear()
        self._wanted.clear()
        if first is not None:
            self._pages[0] = _Page(first)
        self.virtual_size = Size(self.size.width, total)
        self.cursor = min(self.cursor, max(0, total - 1)) if keep_cursor else 0
        if not keep_cursor:
            self.scroll_to(y=0, animate=False)
        self.refresh()

    def update_rows(self, rows: list[ItemSummary]) -> None:
        """Show the current state of `rows` where they are on screen."""
        fresh = {r.id: r for r in rows}
        for page in self._pages.values():
            page.rows = [fresh.get(r.id, r) for r in page.rows]
        self.refresh()

    def summary_at(self, index: int) -> ItemSummary | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page.rows):
            return None
        return page.rows[index % PAGE]

    def _want(self, page: int) -> None:
        if page in self._wanted or self.source is None:
            return
        self._wanted.add(page)
        source, gen = self.source, self.generation

        def fetch() -> None:
            rows = source.fetch(page * PAGE, PAGE)
            self.post_message(self.PageLoaded(gen, page, rows))

        self.run_worker(fetch, thread=True, group="pages", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.worker_changed(event)  # type: ignore[attr-defined]

    def on_queue_list_page_loaded(self, msg: PageLoaded) -> None:
        msg.stop()
        if msg.generation != self.generation:
            return
        self._wanted.discard(msg.page)
        self._pages[msg.page] = _Page(msg.rows)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()

    # -- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = self.scroll_offset.y + y
        if self.total == 0:
            if y == 1:
                return Strip([Segment(f"  {self.empty_message}"[:width], Style(dim=True))])
            return Strip.blank(width)
        if index >= self.total:
            return Strip.blank(width)
        row = self.summary_at(index)
        if row is None:
            self._want(index // PAGE)
            return Strip([Segment("  …"[:width], Style(dim=True))]).extend_cell_length(width)
        text = row_text(row, self.clock(), width, (row.id in self.marked) if self.marked else None)
        fill = None
        if index == self.cursor:
            fill = CURSOR if self.has_focus else CURSOR_BLUR
            text.stylize(fill)
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, fill)

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_row(new)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def scroll_to_region_row(self, row: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    # -- actions ------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + step))

    def action_page(self, step: int) -> None:
        self.action_cursor(step * max(1, self.size.height - 1))

    def action_jump(self, index: int) -> None:
        if self.total:
            self.cursor = index if index >= 0 else self.total - 1

    def action_mark(self) -> None:
        row = self.summary_at(self.cursor) if self.total else None
        if row is None:
            return
        if self.marked.pop(row.id, None) is None:
            self.marked[row.id] = row
        self.action_cursor(1)
        self.set_marks(self.marked)

    def set_marks(self, marked: dict[str, ItemSummary]) -> None:
        self.marked = marked
        self.refresh()
        self.post_message(self.MarksChanged())

    def action_open(self) -> None:
        if self.total:
            self.post_message(self.Opened(self.cursor, self.summary_at(self.cursor)))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < self.total:
            self.cursor = index
            if event.chain >= 2:
                self.action_open()
