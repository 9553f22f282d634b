"""The queue screen: counts, filters, fuzzy search and the virtual item list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.lazy import Lazy
from textual.message import Message
from textual.widgets import Input, Select, Static

from reviewer.errors import Offline, StorageError
from reviewer.safe_text import safe_line
from reviewer.vocab import MAX_BULK, STATUS_VIEWS

from .base import AppScreen
from .footer import KeyFooter
from .queue_list import PAGE, QueueList
from .source import FilterSource, SearchSource, Source, WaitingSource

if TYPE_CHECKING:
    from reviewer.models import BatchResult, Changes, ItemFilter, ItemSummary
    from reviewer.queue import ReviewQueue

SEARCH_LIMIT = 500  # rows a search shows, best first
BULK_KEYS = ("bulk", "clear_marks")  # offered while items are marked
PAST = {"Approve": "Approved", "Reject": "Rejected"}
ING = {"Approve": "Approving", "Reject": "Rejecting"}


class QueueScreen(AppScreen):
    """Everything in the queue, most urgent first: pending actions with deadlines on top."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="queue.search", tooltip="Fuzzy search the queue"),
        Binding("escape", "clear_search", "Clear", show=False, id="queue.clear_search"),
        Binding("f", "filters", "Filters", id="queue.filters", tooltip="Focus the filter bar"),
        Binding("asterisk", "mark_all", "Mark all", id="queue.mark_all",
                tooltip=f"Mark every item this filter or search shows (at most {MAX_BULK:,})"),
        Binding("a", "bulk('approve')", "Approve marked", id="queue.bulk_approve",
                tooltip="Approve the marked items (critical actions are left out)"),
        Binding("r", "bulk('reject')", "Reject marked", id="queue.bulk_reject",
                tooltip="Reject the marked items with one reason"),
        Binding("x", "clear_marks", "Unmark", id="queue.clear_marks", tooltip="Unmark every item"),
        Binding("equals_sign", "similar", "Similar", show=False, id="queue.similar",
                tooltip="Show the item under the cursor and its near-duplicates, marked; esc goes back"),
        Binding("u", "app.undo", "Undo last", id="queue.undo"),
        Binding("g", "report", "Report", show=False, id="queue.report",
                tooltip="What the decisions say: flag precision, failure modes, reviewers"),
        Binding("ctrl+r", "reload", "Reload", id="queue.reload"),
        Binding("question_mark", "app.help", "Help", id="queue.help"),
        Binding("q", "app.quit", "Quit", id="queue.quit"),
    ]

    class Loaded(Message):
        def __init__(self, request: int, source: Source, total: int, first: list[ItemSummary],
                     stats: dict[str, int], token: int, keep_cursor: bool, query: str | None = None,
                     capped: bool = False, similar: str | None = None) -> None:
            super().__init__()
            self.request, self.source, self.total, self.first = request, source, total, first
            self.stats, self.token, self.keep_cursor = stats, token, keep_cursor
            self.query, self.capped = query, capped  # a search's text; more matches than shown
            self.similar = similar  # the item whose near-duplicates these are

    class Facets(Message):
        def __init__(self, facets: dict[str, list[str]]) -> None:
            super().__init__()
            self.facets = facets

    class AllMarked(Message):
        def __init__(self, request: int, rows: list[ItemSummary], more: bool) -> None:
            super().__init__()
            self.request, self.rows, self.more = request, rows, more

    class BulkReady(Message):
        def __init__(self, verdict: str, rows: list[ItemSummary], reasons: list[str], marked: int) -> None:
            super().__init__()
            self.verdict, self.rows, self.reasons, self.marked = verdict, rows, reasons, marked

    class BulkDone(Message):
        """A bulk decision's result, or (None) why it was saved for later instead."""

        def __init__(self, verb: str, result: BatchResult | None, saved: str | None = None) -> None:
            super().__init__()
            self.verb, self.result, self.saved = verb, result, saved

    class Changed(Message):
        def __init__(self, changes: Changes, total: int | None, stats: dict[str, int]) -> None:
            super().__init__()
            self.changes, self.total, self.stats = changes, total, stats

    def __init__(self, first: Any = None) -> None:
        """`first`: the first page read by storage.peek, shown until the queue is open."""
        super().__init__()
        self.first = first
        self.token: int | None = None
        self.facets_loaded = False
        self.request = 0  # the latest load or search; older results are dropped
        self.shown_request = 0  # the load or search the list shows
        self._counts: tuple[dict[str, int], int, bool] | None = None  # what the counts line shows
        self.similar_to: str | None = None  # showing this item and its near-duplicates
        self.mark_similar = False  # ... and marking them, once they arrive
        self.open_best = 0  # Enter in the search box: open the best match of this search request


    def compose(self) -> ComposeResult:
        yield Static(Text("Opening queue…", style="dim"), id="counts")
        # The filter bar and the footer mount just after the first paint (Lazy): the list
        # shows sooner (the footer's keys alone cost a sixth of the first paint).
        yield Lazy(Horizontal(
            Select[str]([], prompt="queue: all", id="f-queue", compact=True),
            Select[str]([(Text(f"status: {k}"), k) for k in STATUS_VIEWS], value="open",
                        allow_blank=False, id="f-status", compact=True),
            Select[str]([], prompt="flag: any", id="f-flag", compact=True),
            Select[str]([], prompt="tag: any", id="f-tag", compact=True),
            id="filters",
        ))
        yield Input(placeholder="/  search outputs, questions, tags and flags", id="search", compact=True)
        yield QueueList(clock=self.rapp.clock, id="list")
        yield Lazy(KeyFooter())

    def on_mount(self) -> None:
        self.query_one(QueueList).focus()
        if self.rapp.queue is not None:
            self.reload()
        elif self.first is not None:
            self.show_peek(self.first)
            # the queue (and the ORM import, a quarter second of the interpreter) a moment
            # after these rows are painted, so the first frames stay smooth
            self.call_after_refresh(self.set_timer, 0.1, self.rapp.open_queue)
        self.set_interval(1.0, self.poll_changes)
        self.set_interval(5.0, self.sweep)

    def on_screen_resume(self) -> None:
        if self.rapp.queue is not None and self.token is not None:
            self.reload(keep_cursor=True)

    # -- loading ------------------------------------------------------------------------

    def filter_values(self) -> dict[str, Any]:
        """The filter bar's choices as ItemFilter fields (plain values: no pydantic needed)."""

        def value(sel_id: str) -> str | None:
            found = self.query(sel_id)
            v = found.first(Select).value if found else Select.NULL  # not mounted yet: defaults
            return None if v is Select.NULL else str(v)

        status = value("#f-status") or "open"
        statuses = STATUS_VIEWS[status]
        return {"queue": value("#f-queue"), "status": None if statuses is None else list(statuses),
                "flag": value("#f-flag"), "tag": value("#f-tag")}

    def current_filter(self) -> ItemFilter:
        from reviewer.models import ItemFilter

        return ItemFilter(**self.filter_values())

    def reload(self, keep_cursor: bool = False) -> None:
        query = self.query_one("#search", Input).value.strip()
        self.request += 1
        if self.similar_to is not None and self.rapp.queue is not None:
            self.run_similar(self.request, self.rapp.queue, self.similar_to, keep_cursor, self.mark_similar)
        elif query:
            self.run_search(self.request, self.rapp.queue, query, self.current_filter(), keep_cursor)
        else:
            self._load(self.request, self.rapp.queue, self.current_filter(), keep_cursor,
                       not self.facets_loaded)
        self.facets_loaded = True

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, request: int, q: ReviewQueue, flt: ItemFilter, keep_cursor: bool, facets: bool) -> None:
        token = q.changes().token
        source = FilterSource(q, flt, order="triage")
        total = source.count()
        first = source.fetch(0, PAGE)
        self.post_message(self.Loaded(request, source, total, first, q.stats(), token, keep_cursor))
        if facets:
            self.post_message(self.Facets(q.facets()))

    def on_queue_screen_loaded(self, msg: Loaded) -> None:
        if msg.request != self.request:
            return  # a newer load or search is under way
        self.token = msg.token
        lst = self.query_one(QueueList)
        if msg.similar:
            lst.empty_message = f"{safe_line(msg.similar, 60)} is no longer open. Esc goes back to the queue."
        elif msg.query:
            lst.empty_message = f"No match for “{safe_line(msg.query, 80)}”. Esc clears the search."
        else:
            lst.empty_message = ("Nothing matches. Try another filter, or load items with "
                                 "`reviewer ingest FILE` (or try `reviewer demo`).")
        lst.set_source(msg.source, msg.total, msg.first, keep_cursor=msg.keep_cursor)
        self.show_counts(msg.stats, msg.total, msg.capped)
        self.shown_request = msg.request
        if msg.query and self.open_best == msg.request:
            self._open_best()

    def on_queue_screen_facets(self, msg: Facets) -> None:
        for sel_id, key, label in (("#f-queue", "queues", "queue"), ("#f-flag", "flags", "flag"),
                                   ("#f-tag", "tags", "tag")):
            if not self.query(sel_id):
                self.call_after_refresh(self.post_message, msg)  # the filter bar is not mounted yet
                return
            sel = self.query_one(sel_id, Select)
            with sel.prevent(Select.Changed):
                sel.set_options([(Text(f"{label}: {safe_line(v, 40)}"), v) for v in msg.facets[key]])

    def show_peek(self, peek: list[Any]) -> None:
        """Paint the first page read by storage.peek (the counts come with the real queue)."""
        if self.token is not None:
            return
        lst = self.query_one(QueueList)
        lst.set_source(WaitingSource(self.rapp, self.filter_values()), len(peek), peek)

    def show_counts(self, stats: dict[str, int], shown: int, capped: bool = False) -> None:
        """The counts line. Below NARROW columns its labels are shorter, and the note in the
        middle (what the list shows) is cut before the reviewer's name is."""
        self._counts = (stats, shown, capped)
        narrow = self.narrow
        sep = " · " if narrow else "  ·  "
        t = Text()
        if marked := len(self.query_one(QueueList).marked):  # first: it must show at 80 columns
            t.append(f" {marked:,} marked ", style="bold reverse yellow")
        if not narrow:
            t.append(" reviewer ", style="bold reverse")
        t.append(f"{' ' if narrow else '  '}pending {stats.get('pending', 0):,}", style="bold")
        t.append(f"{sep}claimed {stats.get('claimed', 0):,}", style="cyan")
        t.append(f"{sep}{'today' if narrow else 'decided today'} {stats.get('decided_today', 0):,}", style="green")
        if stats.get("expired"):
            t.append(f"{sep}expired {stats['expired']:,}", style="red")
        gap = "  " if narrow else "     "
        if self.similar_to is not None:
            n = max(0, shown - 1)
            note = Text(f"{gap}{safe_line(self.similar_to, 40)} and {n:,} near-duplicate{'s' if n != 1 else ''} "
                        "(esc: back)", style="bold cyan")
        elif capped:
            note = Text(f"{gap}best {shown:,} shown: type more to narrow" if narrow else
                        f"{gap}showing the best {shown:,} of more matches: type more to narrow", style="yellow")
        else:
            note = Text(f"{gap}showing {shown:,}", style="dim")
        tail = Text(f"{'  ' if narrow else '   '}as {safe_line(self.rapp.reviewer, 30)}", style="dim")
        room = self.app.size.width - t.cell_len - tail.cell_len
        if narrow and note.cell_len > room:
            note.truncate(max(0, room), overflow="ellipsis")
        self.query_one("#counts", Static).update(Text.assemble(t, note, tail))

    def resized(self) -> None:
        if self._counts is not None:
            self.show_counts(*self._counts)

    # -- live refresh -------------------------------------------------------------------

    def poll_changes(self) -> None:
        """Look for changes while this screen is on top (a review screen covers it otherwise,
        and it reloads when it comes back): no queue work competes with the review loop."""
        lst = self.query_one(QueueList)
        if self.is_current and self.rapp.queue is not None and self.token is not None and lst.source is not None:
            self._poll(self.rapp.queue, self.token, lst.source)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self, q: ReviewQueue, token: int, source: Source) -> None:
        try:
            changes = q.changes(token)
            if changes.token == token:
                return
            total = source.count() if isinstance(source, FilterSource) else None
            self.post_message(self.Changed(changes, total, q.stats()))
        except StorageError:
            return  # the queue is away for now: the next poll tries again (a reviewer's own action says so)

    def on_queue_screen_changed(self, msg: Changed) -> None:
        """Items changed elsewhere. When the view gained or lost items (a new arrival, an item
        settled elsewhere) it is reloaded, keeping the cursor: positions moved. Otherwise the
        rows that changed are updated in place."""
        lst = self.query_one(QueueList)
        if msg.total is not None and msg.total != lst.total:
            self.reload(keep_cursor=True)
            return
        self.token = msg.changes.token
        lst.update_rows(msg.changes.rows)
        self.show_counts(msg.stats, lst.total)

    def sweep(self) -> None:
        """Expire overdue actions while the list is on top (claims and decide-and-next sweep
        for themselves while a review screen is); a gateway sweeps on its own."""
        q = self.rapp.queue
        if self.is_current and q is not None and not getattr(q, "sweeps_deadlines", False):
            self._sweep(q)

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def _sweep(self, q: ReviewQueue) -> None:
        q.expire_overdue()

    # -- filters and search -------------------------------------------------------------

    @on(Select.Changed)
    def filter_changed(self, _: Select.Changed) -> None:
        # back to the list once a filter is picked: arrows move through items, not values
        self.query_one(QueueList).focus()
        self.similar_to = None
        self.clear_hidden_marks()
        if self.rapp.queue is not None and self.token is not None:
            self.reload()

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        self.similar_to = None
        self.clear_hidden_marks()
        if self.rapp.queue is not None:
            self.reload()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        """Enter opens the best match (once the search typed so far has answered)."""
        self.query_one(QueueList).focus()
        if event.value.strip():
            self.open_best = self.request
            if self.shown_request == self.request:
                self._open_best()

    def _open_best(self) -> None:
        self.open_best = 0
        lst = self.query_one(QueueList)
        if lst.source is not None and lst.total:
            lst.cursor = 0
            first = lst.summary_at(0)
            self.rapp.open_review(lst.source, 0, first.id if first else None, lst.total)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def run_search(self, request: int, q: ReviewQueue, query: str, flt: ItemFilter, keep_cursor: bool) -> None:
        """Search in the queue (its full-text index, then rapidfuzz ranking)."""
        token = q.changes().token
        rows = q.search(query, flt, limit=SEARCH_LIMIT + 1)  # one more: are there more than shown?
        capped, rows = len(rows) > SEARCH_LIMIT, rows[:SEARCH_LIMIT]
        source = SearchSource(q, [r.id for r in rows])
        self.post_message(self.Loaded(request, source, len(rows), rows[:PAGE], q.stats(), token, keep_cursor,
                                      query, capped))

    def show_similar(self, item_id: str) -> None:
        """The item and its open near-duplicates, all marked: decide the cluster at once."""
        self.similar_to, self.mark_similar = item_id, True
        self.query_one(QueueList).set_marks({})  # the marks become the cluster
        if self.rapp.queue is not None:
            self.request += 1
            self.run_similar(self.request, self.rapp.queue, item_id, False, mark=True)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def run_similar(self, request: int, q: ReviewQueue, item_id: str, keep_cursor: bool,
                    mark: bool = False) -> None:
        from reviewer.models import ItemFilter

        token = q.changes().token
        rows = q.list_items(ItemFilter(ids=[item_id]), limit=1) + q.similar(item_id, limit=SEARCH_LIMIT - 1)
        source = SearchSource(q, [r.id for r in rows])
        self.post_message(self.Loaded(request, source, len(rows), rows[:PAGE], q.stats(), token, keep_cursor,
                                      similar=item_id))
        if mark:
            self.post_message(self.AllMarked(request, rows, False))

    # -- actions ------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if self.similar_to is not None:
            self.similar_to = None
            self.query_one(QueueList).set_marks({})
            self.reload()
        elif search.value:
            search.value = ""
        self.query_one(QueueList).focus()

    def action_report(self) -> None:
        from .report_screen import ReportScreen

        self.app.push_screen(ReportScreen())

    def action_similar(self) -> None:
        lst = self.query_one(QueueList)
        row = lst.summary_at(lst.cursor) if lst.total else None
        if row is not None:
            self.show_similar(row.id)

    def action_filters(self) -> None:
        self.query_one("#f-queue", Select).focus()

    def action_reload(self) -> None:
        self.facets_loaded = False
        self.reload(keep_cursor=True)

    @on(QueueList.Opened)
    def open_item(self, msg: QueueList.Opened) -> None:
        lst = self.query_one(QueueList)
        if lst.source is None:
            return
        self.rapp.open_review(lst.source, msg.index, msg.summary.id if msg.summary else None, lst.total)

    # -- bulk decisions -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The bulk keys only while items are marked."""
        if action in BULK_KEYS:
            return bool(self.query_one(QueueList).marked)
        return True

    @on(QueueList.MarksChanged)
    def marks_changed(self) -> None:
        self.refresh_bindings()
        if self._counts is not None:
            self.show_counts(*self._counts)

    def clear_hidden_marks(self) -> None:
        """The list is about to show other rows: marks on rows no longer shown would be
        decided unseen, so they go (and the reviewer is told)."""
        lst = self.query_one(QueueList)
        if lst.marked:
            self.notify(f"{len(lst.marked):,} marks cleared: the list changed.", severity="warning")
            lst.set_marks({})

    def action_clear_marks(self) -> None:
        self.query_one(QueueList).set_marks({})

    def action_mark_all(self) -> None:
        lst = self.query_one(QueueList)
        if lst.source is not None and lst.total:
            self._mark_all(self.request, lst.source)

    @work(thread=True, exclusive=True, group="marks", exit_on_error=False)
    def _mark_all(self, request: int, source: Source) -> None:
        rows: list[ItemSummary] = []
        while len(rows) < MAX_BULK:
            page = source.fetch(len(rows), min(1000, MAX_BULK - len(rows)))
            rows += page
            if len(page) < 1000:
                break
        self.post_message(self.AllMarked(request, rows, len(rows) >= MAX_BULK))

    def on_queue_screen_all_marked(self, msg: AllMarked) -> None:
        if msg.request != self.request:
            return  # the list changed meanwhile: these are not the rows on screen
        self.mark_similar = False
        lst = self.query_one(QueueList)
        lst.set_marks({**lst.marked, **{r.id: r for r in msg.rows}})
        if msg.more:
            self.notify(f"Marked the first {MAX_BULK:,}: a bulk decision takes at most that many.",
                        severity="warning")

    def action_bulk(self, verdict: str) -> None:
        marked = list(self.query_one(QueueList).marked)
        if marked and self.rapp.queue is not None:
            self._prepare(self.rapp.queue, verdict, marked)

    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False)
    def _prepare(self, q: ReviewQueue, verdict: str, ids: list[str]) -> None:
        """The marked items as they are now (one may have been decided or expired since it
        was marked) and, for a reject, the reasons every one of their queues takes."""
        from reviewer.models import ItemFilter

        rows: list[ItemSummary] = []
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            rows += q.list_items(ItemFilter(ids=chunk), limit=len(chunk))
        rows = [r for r in rows if r.status in ("pending", "claimed")]
        reasons: list[str] = []
        if rows and verdict == "reject":
            allowed = [q.queue_settings(queue).reasons_for(kind) for queue, kind in {(r.queue, r.kind) for r in rows}]
            first = q.queue_settings(rows[0].queue).reasons_for(rows[0].kind)
            reasons = [r for r in first if all(r in a for a in allowed)]
        self.post_message(self.BulkReady(verdict, rows, reasons, len(ids)))

    def on_queue_screen_bulk_ready(self, msg: BulkReady) -> None:
        from .dialogs import RejectDialog

        gone = msg.marked - len(msg.rows)
        if not msg.rows:
            self.notify("None of the marked items is open any more (decided or expired since).", severity="warning")
            self.query_one(QueueList).set_marks({})
            return
        if gone:
            self.notify(f"{gone:,} of the marked items were decided or expired since; they are left out.",
                        severity="warning")
        if msg.verdict == "approve":
            self._confirm("Approve", msg.rows, None)
            return
        if not msg.reasons:
            self.notify("The marked items' queues share no reject reason: mark items of one queue.",
                        severity="warning")
            return

        def picked(result: tuple[list[str], str | None] | None) -> None:
            if result is not None:
                self._confirm("Reject", msg.rows, result)

        self.app.push_screen(RejectDialog(msg.reasons, title=f"Reject {len(msg.rows):,} items"), picked)

    def _confirm(self, verb: str, rows: list[ItemSummary], why: tuple[list[str], str | None] | None) -> None:
        from reviewer import rules

        from .dialogs import BulkConfirm

        def refused(r: ItemSummary) -> str | None:
            return rules.bulk_refusal(r, verb.lower())

        left_out = [(r, reason) for r in rows if (reason := refused(r))]
        take = [r for r in rows if not refused(r)]
        if not take:
            self.notify("Nothing to do: " + left_out[0][1], severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes and self.rapp.queue is not None:
                from reviewer.models import BatchIn, DecisionIn

                reasons, comment = why if why is not None else ([], None)
                d = DecisionIn(verdict=verb.lower(), reviewer=self.rapp.reviewer,
                               reasons=reasons, comment=comment)
                n = len(take)  # thousands take seconds: say it is under way
                self.notify(f"{ING[verb]} {n:,} item{'s' if n != 1 else ''}…", timeout=3)
                self._bulk(self.rapp.queue, verb, BatchIn(item_ids=[r.id for r in take], decision=d))

        self.app.push_screen(BulkConfirm(verb, take, [(r, why) for r, why in left_out],
                                         why[0] if why is not None else []), answered)

    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False)
    def _bulk(self, q: ReviewQueue, verb: str, batch: Any) -> None:
        try:
            self.post_message(self.BulkDone(verb, q.decide_many(batch)))
        except Offline as e:
            self.post_message(self.BulkDone(verb, None, str(e)))

    def on_queue_screen_bulk_done(self, msg: BulkDone) -> None:
        if msg.result is None:  # the gateway is away: saved, sent when it is back
            self.rapp.set_reconnecting(True)
            self.notify(safe_line(msg.saved or "", 300), severity="warning", markup=False)
            self.query_one(QueueList).set_marks({})
            return
        r = msg.result
        n = len(r.decided)
        if n:
            self.rapp.history.append(r)
            text = f"{PAST[msg.verb]} {n:,} item{'s' if n != 1 else ''} · u to undo them all"
        else:
            text = "Nothing was decided."
        if r.skipped:
            first_id, why = next(iter(r.skipped.items()))
            text += f"\n{len(r.skipped):,} left as they were, e.g. {safe_line(first_id, 40)}: {safe_line(why, 200)}"
        self.notify(text, severity="warning" if r.skipped or not n else "information", markup=False)
        self.query_one(QueueList).set_marks({})
        self.reload(keep_cursor=True)
