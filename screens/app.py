"""The Textual app. Built by `make_app`, which the CLI and the tests share.

The app talks only to a `ReviewQueue`. It opens it in a thread worker after the first paint,
and does all queue I/O in thread workers that post messages back; only handlers change widgets.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import LineFilter
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from reviewer.errors import ReviewerError, Unreachable
from reviewer.safe_text import safe_line
from reviewer.timefmt import utcnow

from .base import AppScreen
from .inert import InertFilter
from .queue_screen import QueueScreen
from .source import Source

# The review screen, dialogs, pydantic models and settings load on first use, after the
# queue screen has painted (see storage.peek).
if TYPE_CHECKING:
    from reviewer.judge import Judge
    from reviewer.models import BatchResult
    from reviewer.queue import ReviewQueue

# The cyclic GC runs while the reviewer reads, never inside a key press. Each decision allocates
# thousands of short-lived render objects (strips, segments, caches): left to its thresholds the
# GC ran two or three young passes (1-3 ms each) inside every frame, and with CPython's defaults
# a full pass (20-60 ms, a dropped frame) every eight decisions or so. Garbage without cycles is
# freed by reference counting at once either way; only cycles wait for the reader.
IDLE_S = 0.3  # no key for this long: the reviewer is reading, and the GC may run
FULL_GC_S = 30.0  # at most this often, a full collection (also only while idle)
GC_YOUNG_LIMIT = 200_000  # young objects that are collected even mid-burst (keys held down)
PARENT_CHECK_S = 1.0  # how often a `reviewer web` session checks that its server is still there
URGENT_POLL_S = 3.0  # how often the app looks for high and critical actions that just arrived
NOT_NOW = "(not available right now)"  # the help's note on a key that does nothing at the moment
SEND_SAVED_S = 3.0  # how often decisions saved while a gateway was away are sent


class ReviewerApp(App[None]):
    """Triage flagged LLM outputs and pending agent actions."""

    CSS_PATH = "app.tcss"
    TITLE = "reviewer"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit")]

    class QueueReady(Message):
        def __init__(self, queue: ReviewQueue) -> None:
            super().__init__()
            self.queue = queue

    class SavedSent(Message):
        """The gateway answered (`back`: after it was away) and the outbox was sent:
        decisions recorded, and those the gateway refused, with why."""

        def __init__(self, sent: int, refused: list[tuple[str, str]], back: bool = False) -> None:
            super().__init__()
            self.sent, self.refused, self.back = sent, refused, back

    class BatchUndone(Message):
        def __init__(self, batch: BatchResult, result: BatchResult) -> None:
            super().__init__()
            self.batch, self.result = batch, result

    class Urgent(Message):
        def __init__(self, rows: list[Any]) -> None:
            super().__init__()
            self.rows = rows

    class Undone(Message):
        def __init__(self, item_id: str) -> None:
            super().__init__()
            self.item_id = item_id

    def __init__(self, open_queue: Callable[[], ReviewQueue], *, reviewer: str,
                 config: dict[str, Any] | None = None, keymap: dict[str, str] | None = None, clock: Callable[[], datetime] = utcnow,
                 peek: Callable[[], Any] | None = None, sign_in: str | None = None, judge: Judge | None = None,
                 parent: int | None = None) -> None:
        super().__init__()
        self._parent_pid = parent  # a process whose end ends the app (the server of `reviewer web`)
        self._judge = judge  # else built from judge_model (reviewer.toml) or REVIEWER_JUDGE_MODEL when first asked
        self._open_queue = open_queue
        self._sign_in = sign_in  # a gateway URL whose token each session asks for (reviewer web)
        self._peek = peek
        self.queue: ReviewQueue | None = None  # set by the QueueReady handler once opened
        self.queue_ready = threading.Event()
        self.reviewer = reviewer
        self._config = config or {}
        self.clock = clock
        self.history: list[str | BatchResult] = []  # this session's decisions (ids, batches), for undo
        self._keymap = keymap or {}
        self._inert = InertFilter()
        self._seen_urgent: frozenset[str] = frozenset()  # high and critical actions already announced
        self._urgent_primed = False  # the first look only learns what is already there
        self.last_key = 0.0  # monotonic time of the last key press
        self._full_gc_at = time.monotonic()
        self._gc_was_enabled = False  # the GC ran on its own before this app turned it off
        self.reconnecting = False  # the gateway is away: one banner, no error dialogs
        self.ignored_keys = 0  # this session's keys dropped because the next item was not shown yet

    @property
    def judge_model(self) -> str | None:
        """The model `j` asks on the review screen, if one is set."""
        if self._judge is not None:
            return self._judge.model
        return self._config.get("judge_model") or os.environ.get("REVIEWER_JUDGE_MODEL") or None

    def judge(self) -> Judge | None:
        """The judge `j` asks (built on first use: litellm loads in the worker that calls it)."""
        if self._judge is None and (model := self.judge_model):
            from reviewer.judge import Judge

            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            self._judge = Judge(model)
        return self._judge

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key = time.monotonic()
        await super().on_event(event)

    def exit_if_orphaned(self) -> None:
        """The server that started this session is gone: quit (releasing the item held)."""
        if os.getppid() != self._parent_pid:
            self.exit()

    def collect_when_idle(self) -> None:
        """Run the cyclic GC (off while the app runs) when no key came for IDLE_S: young
        objects each time, everything at most every FULL_GC_S; mid-burst only past
        GC_YOUNG_LIMIT young objects, so memory stays bounded while keys are held down."""
        now = time.monotonic()
        young = gc.get_count()[0]
        if now - self.last_key < IDLE_S:
            if young > GC_YOUNG_LIMIT:
                gc.collect(0)
            return
        if now - self._full_gc_at > FULL_GC_S:
            gc.collect()
            self._full_gc_at = now
        elif young or gc.get_count()[1]:
            gc.collect(1)

    def on_unmount(self) -> None:
        """The app is done: the cyclic GC runs on its own again (the process may go on)."""
        if self._gc_was_enabled:
            gc.enable()

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), self._inert]

    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        from reviewer.config import ignored_settings, load_config, old_queue_warning

        self.set_interval(SEND_SAVED_S, self.send_saved)
        self.set_interval(IDLE_S, self.collect_when_idle)
        if self._parent_pid is not None:
            self.set_interval(PARENT_CHECK_S, self.exit_if_orphaned)
        if self._config.get("notify_bell", True) or self._config.get("notify_desktop", True):
            self.set_interval(URGENT_POLL_S, self.watch_urgent)
        if message := old_queue_warning(self._config):
            self.notify(message, title="Old settings not in effect", severity="warning", timeout=60,
                        markup=False)
        if message := ignored_settings() if self._config is load_config() else None:
            self.notify(message, title="Settings ignored", severity="warning", timeout=60, markup=False)
        # The first page, read with the standard library before the first frame (tens of ms
        # on a 100k queue; a thread would fight the mounting for the interpreter), so the very
        # first paint shows rows. The ORM opens after that paint.
        if self._sign_in is not None:
            from .sign_in import SignInScreen

            self.push_screen(SignInScreen(self._sign_in), self._signed_in)
            return
        first = self._peek() if self._peek is not None else None
        self.push_screen(QueueScreen(first))
        if first is None:
            self.open_queue()
        # else the queue screen opens the queue once those rows are painted

    def _signed_in(self, result: tuple[ReviewQueue, str] | None) -> None:
        """Signed in: this session is the token's reviewer, on its queue."""
        if result is None:
            return
        queue, name = result
        self.reviewer = name
        self._open_queue = lambda: queue
        self.push_screen(QueueScreen(None))
        self.open_queue()

    def open_queue(self) -> None:
        self._open_for(self.reviewer)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open_for(self, reviewer: str) -> None:
        self.post_message(self.QueueReady(self._open_queue()))
        from reviewer.rules import name_key

        name_key(reviewer)  # loads the confusables data (~90 ms) here, not in the first decision

    def wait_queue(self, timeout: float = 60.0) -> ReviewQueue:
        """The queue, from a worker thread: waits while it is still being opened."""
        if not self.queue_ready.wait(timeout):
            from reviewer.errors import StorageError

            raise StorageError("the queue did not open in time", hint="check --db and retry")
        assert self.queue is not None
        return self.queue

    def on_reviewer_app_queue_ready(self, msg: QueueReady) -> None:
        self.queue = msg.queue
        self.queue_ready.set()
        # Everything loaded so far (modules, ORM, widgets) lives as long as the app: keep it out
        # of the cyclic GC's full passes, which otherwise pause the UI as the heap grows.
        gc.freeze()
        if not self._gc_was_enabled:
            self._gc_was_enabled = gc.isenabled()
            gc.disable()  # collect_when_idle runs it
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.reload()

    # -- navigation ---------------------------------------------------------------------

    def open_review(self, source: Source, index: int, item_id: str | None, total: int = 0) -> None:
        from .review_screen import ReviewScreen

        self.push_screen(ReviewScreen(source, index, item_id, total))

    def action_undo(self) -> None:
        if not self.history:
            self.notify("Nothing to undo in this session.", severity="warning")
            return
        if self.queue is not None:
            self._undo(self.queue, self.history[-1], self.reviewer)

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def _undo(self, queue: ReviewQueue, last: str | BatchResult, reviewer: str) -> None:
        if isinstance(last, str):
            queue.undo(last, reviewer)
            self.post_message(self.Undone(last))
        else:
            self.post_message(self.BatchUndone(last, queue.undo_batch(last.batch, reviewer)))

    def send_saved(self) -> None:
        """Every few seconds, with a gateway: send the decisions saved while it was away."""
        outbox = getattr(self.queue, "outbox", None)
        if outbox is not None:
            self._send_saved(self.queue, probe=self.reconnecting)

    def watch_urgent(self) -> None:
        """Every few seconds: a high or critical action that arrived while the reviewer is
        elsewhere in the app (not on the queue list, which shows it) rings the bell and shows
        a desktop notification (`notify_bell`, `notify_desktop` in reviewer.toml)."""
        if self.queue is not None:
            self._urgent(self.queue)

    @work(thread=True, exclusive=True, group="urgent", exit_on_error=False)
    def _urgent(self, queue: ReviewQueue) -> None:
        from reviewer.models import ItemFilter
        from reviewer.vocab import HIGH_RISKS

        rows = queue.list_items(ItemFilter(kind="action", status=["pending"]), limit=50, order="triage")
        self.post_message(self.Urgent([r for r in rows if r.risk in HIGH_RISKS]))

    def on_reviewer_app_urgent(self, msg: Urgent) -> None:
        new = [r for r in msg.rows if r.id not in self._seen_urgent]
        first, self._urgent_primed = not self._urgent_primed, True
        self._seen_urgent = self._seen_urgent | {r.id for r in msg.rows}
        if first or not new or isinstance(self.screen, QueueScreen):
            return  # the first look sets what is known; the queue list shows arrivals itself
        r = new[0]
        more = f" (+{len(new) - 1} more)" if len(new) > 1 else ""
        said = f"{(r.risk or '').upper()} action waiting: {safe_line(r.tool or '', 40)} in {safe_line(r.queue, 40)}{more}"
        self.notify(said, title="New action", severity="warning", markup=False)
        if self._config.get("notify_bell", True):
            self.bell()
        if self._config.get("notify_desktop", True):
            self._to_desktop("reviewer: new action", said)

    @work(thread=True, group="desktop", exit_on_error=False)
    def _to_desktop(self, title: str, body: str) -> None:
        from reviewer.notify import to_desktop

        to_desktop(title, body)

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def _send_saved(self, queue: Any, probe: bool = False) -> None:
        """Send the outbox; `probe`: first ask the gateway whether it is back (raises
        Unreachable while it is not, which keeps the banner up)."""
        if probe:
            queue.stats()
        sent, refused = queue.send_saved() if queue.outbox.saved() else ([], [])
        if sent or refused or probe:
            self.post_message(self.SavedSent(len(sent), [(i, str(e)) for i, e in refused], back=probe))

    def set_reconnecting(self, on: bool) -> None:
        """Show (or take down) the one banner that says the gateway is away."""
        self.reconnecting = on
        for screen in self.screen_stack:
            if isinstance(screen, AppScreen):
                screen.show_reconnecting(on)

    def on_reviewer_app_saved_sent(self, msg: SavedSent) -> None:
        from .review_screen import ReviewScreen

        if msg.back:
            self.set_reconnecting(False)
        if msg.sent:
            self.notify(f"The gateway is back: {msg.sent} saved decision{'s' if msg.sent != 1 else ''} recorded.")
        for item_id, why in msg.refused:
            self.notify(f"Your decision on {safe_line(item_id, 60)} was NOT recorded: {safe_line(why, 300)}",
                        title="Refused by the gateway", severity="error", timeout=60, markup=False)
        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen):
                screen.back_online()

    def on_reviewer_app_batch_undone(self, msg: BatchUndone) -> None:
        if self.history and self.history[-1] is msg.batch:
            self.history.pop()
        n, left = len(msg.result.decided), msg.result.skipped
        text = f"Undone: {n:,} item{'s' if n != 1 else ''} of the bulk decision back in the queue."
        if left:
            text += f" {len(left):,} left as they are ({safe_line(next(iter(left.values())), 200)})."
        self.notify(text, markup=False)
        if isinstance(self.screen, QueueScreen):
            self.screen.reload(keep_cursor=True)

    def on_reviewer_app_undone(self, msg: Undone) -> None:
        from .review_screen import ReviewScreen

        if self.history and self.history[-1] == msg.item_id:
            self.history.pop()
        self.notify(f"Undone: {safe_line(msg.item_id, 60)} is back in the queue.", markup=False)
        screen = self.screen
        if isinstance(screen, ReviewScreen):
            screen.show_undone(msg.item_id)
        elif isinstance(screen, QueueScreen):
            from reviewer.models import ItemFilter

            from .source import FilterSource

            assert self.queue is not None  # an undo ran on it
            self.open_review(FilterSource(self.queue, ItemFilter(ids=[msg.item_id])), 0, msg.item_id)

    def action_help(self) -> None:
        """Every key of the current screen with what it does and its id (for remapping)."""
        from .dialogs import HelpScreen

        screen = self.screen
        rows: dict[str, tuple[list[str], str]] = {}

        def shown(b: Binding, key: str) -> str:
            """The key itself: a footer's shorthand ("n/p") would name another binding's key."""
            return self.get_key_display(replace(b, key=key, key_display=None))

        for key, active in screen.active_bindings.items():
            b = active.binding
            if not b.id:  # Textual's own scrolling and focus keys
                continue
            keys, _ = rows.setdefault(b.id, ([], b.tooltip or b.description))
            if (k := shown(b, key)) not in keys:
                keys.append(k)
        # and the screen's keys that do nothing right now (bulk keys with nothing marked,
        # deciding keys on a read-only item), so that they can be found before they work; not
        # a key that does something else here (`e` edits an action's arguments, an output's text)
        for key, bindings in screen._bindings.key_to_bindings.items():
            for b in bindings:
                if b.id and b.id not in rows and key not in screen.active_bindings:
                    rows[b.id] = ([shown(b, key)], f"{b.tooltip or b.description} {NOT_NOW}")
        table = [(", ".join(keys), does, bid) for bid, (keys, does) in rows.items()]
        self.push_screen(HelpScreen(table, type(screen).__name__.replace("Screen", "").lower()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from .review_screen import CORRECT_TIP, ReviewScreen

        # Textual's own "Keys" (its key panel) gives way to ours, which names every key's id
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        if isinstance(screen, ReviewScreen):
            yield SystemCommand("Approve", "Approve this item and go to the next", screen.action_approve)
            yield SystemCommand("Approve with a comment", "Approve with a comment for the record (and the agent)",
                                screen.action_approve_with_comment)
            yield SystemCommand("Reject", "Reject with reasons and a comment", screen.action_reject)
            yield SystemCommand("Correct", CORRECT_TIP, screen.action_correct)
            yield SystemCommand("Skip", "Release this item and go to the next", screen.action_skip)
            yield SystemCommand("Next", "The next item", lambda: screen.action_move(1))
            yield SystemCommand("Previous", "The previous item", lambda: screen.action_move(-1))
            yield SystemCommand("Back", "Back to the queue (releases the item)", screen.action_back)
            yield SystemCommand("Toggle diff", "Output / inline diff / side by side", screen.action_toggle_diff)
            yield SystemCommand("Similar items", "This item and its near-duplicates, marked (=)", screen.action_similar)
        if isinstance(screen, QueueScreen):
            yield SystemCommand("Search", "Fuzzy search the queue", screen.action_search)
            yield SystemCommand("Reload", "Reload the queue", screen.action_reload)
            yield SystemCommand("Similar items", "The item under the cursor and its near-duplicates, marked (=)",
                                screen.action_similar)
            yield SystemCommand("Mark all", "Mark every item shown, for a bulk decision (*)", screen.action_mark_all)
            yield SystemCommand("Report", "Flag precision, failure modes, reviewers (g)", screen.action_report)
        yield SystemCommand("Undo", "Undo your last decision", self.action_undo)
        yield SystemCommand("Keys", "Show every key and its id", self.action_help)

    # -- errors -------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.worker_changed(event)

    def worker_changed(self, event: Worker.StateChanged) -> None:
        """Turn any worker's error into a readable error screen with a retry.

        `Worker.StateChanged` does not bubble, so screens and widgets forward theirs here.
        """
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        from .dialogs import ErrorScreen
        from .review_screen import ReviewScreen

        error = event.worker.error
        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen):
                screen.busy = False
        if isinstance(error, Unreachable):
            # the gateway is away: one banner until it answers again, not a dialog per call
            # (a dialog would take the keys meant for the review, and come back every poll)
            self.set_reconnecting(True)
            if isinstance(self.screen, ReviewScreen) and event.worker.group == "review":
                self.screen.handle_error(error)  # its move did not happen: it waits for the gateway
            return
        if isinstance(error, ReviewerError):
            message, hint = str(error), error.hint  # shown as plain text by ErrorScreen
        else:
            message, hint = f"{type(error).__name__}: {error}", "this is a bug; please report it"
        screen = self.screen
        if isinstance(screen, ErrorScreen):
            return
        def after(again: bool | None) -> None:
            target = self.screen
            if isinstance(target, ReviewScreen):
                target.handle_error(error)
            if again:
                if self.queue is None:
                    self.open_queue()
                elif isinstance(target, QueueScreen):
                    target.reload(keep_cursor=True)

        self.push_screen(ErrorScreen(message, hint), after)


def make_app(open_queue: Callable[[], ReviewQueue], *, reviewer: str | None = None,
             config: dict[str, Any] | None = None, clock: Callable[[], datetime] = utcnow, peek: Callable[[], Any] | None = None,
             sign_in: str | None = None, judge: Judge | None = None, parent: int | None = None) -> ReviewerApp:
    """Build the app. `open_queue` runs in a worker; with `peek` (see storage.peek), after the
    first paint."""
    from reviewer.config import load_config, reviewer_name

    if config is None:
        config = load_config()
    return ReviewerApp(
        open_queue,
        reviewer=reviewer or reviewer_name(),
        config=config,
        keymap=config.get("keymap"),
        clock=clock,
        peek=peek,
        sign_in=sign_in,
        judge=judge,
        parent=parent,
    )
