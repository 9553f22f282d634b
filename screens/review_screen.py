"""The review screen: one item at a time, claimed while open; a decision moves to the next.

Left: why it was flagged, the queue's guidelines, the conversation, documents, metadata.
Right: the output (or the action's tool call), with a diff against the reference or the
reviewer's correction, inline or side by side.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from reviewer.errors import AlreadyDecided, Expired, LeaseError, ReviewerError, Unreachable
from reviewer.models import (
    MIN_LEASE_S,
    ActionItem,
    DecisionIn,
    Lease,
    OutputItem,
    QueueItem,
    QueueSettings,
    Suggestion,
    corrected_text,
)
from reviewer.queue import ReviewQueue
from reviewer.rules import is_critical_action, standing_decision
from reviewer.safe_text import DISPLAY_LIMIT, safe_line

from . import panes
from .base import AppScreen
from .dialogs import (
    ArgumentsEditor,
    CommentDialog,
    ConfirmCorrection,
    CorrectScreen,
    FullTextScreen,
    RejectDialog,
    TypedConfirm,
)
from .dialogs.arguments import ConfirmEdits
from .diff_view import DiffView
from .footer import KeyFooter
from .session import ReviewSession, Shown
from .source import Source
from .text import heading, line, plain

if TYPE_CHECKING:
    from reviewer.judge import Judge

LOOKAHEAD = 25
DECIDING = ("approve", "approve_with_comment", "reject", "correct", "edit_external", "edit_arguments",
            "take_correction", "reject_suggested")  # hidden without a lease
MODES = ("output", "inline", "side")
CORRECT_TIP = "Edit the output (an action: its arguments), then confirm the diff"  # help and palette
DONE_POLL_S = 2.0  # how often "Queue done" looks for an item that arrived since


class ReviewScreen(AppScreen):
    """Review items from `source` starting at `index` (or one `item_id`)."""

    # Priority bindings: the app handles them in the order they were typed, before any key
    # typed after them (a key left to the screen's queue is handled later, so `r 3 Enter` in one
    # burst sent the 3 and the Enter past a reject dialog that was not open yet).
    BINDINGS = [
        Binding("a", "approve", "Approve", priority=True, id="review.approve", tooltip="Approve and go to the next item"),
        Binding("A", "approve_with_comment", "Approve + comment", show=False, priority=True,
                id="review.approve_comment", tooltip="Approve with a comment for the record (and the agent)"),
        Binding("r", "reject", "Reject", priority=True, id="review.reject", tooltip="Reject with reasons and a comment"),
        Binding("c", "correct", "Correct", priority=True, id="review.correct", tooltip=CORRECT_TIP),
        Binding("e", "edit_external", "$EDITOR", priority=True, id="review.edit", tooltip="Correct in $EDITOR"),
        Binding("e", "edit_arguments", "Edit args", priority=True, id="review.edit_arguments",
                tooltip="Edit the action's arguments as JSON, then approve"),
        Binding("s", "skip", "Skip", priority=True, id="review.skip", tooltip="Release this item and go to the next"),
        Binding("u", "app.undo", "Undo", priority=True, id="review.undo", tooltip="Undo your last decision"),
        Binding("n", "move(1)", "Next/Prev", priority=True, id="review.next", key_display="n/p",
                tooltip="The next item (p: the previous one)"),
        Binding("p", "move(-1)", "Prev", show=False, priority=True, id="review.prev", tooltip="The previous item"),
        Binding("d", "toggle_diff", "Diff", priority=True, id="review.diff", tooltip="Output / inline diff / side by side"),
        Binding("v", "full_text", "Full text", show=False, priority=True, id="review.full_text"),
        Binding("equals_sign", "similar", "Similar", show=False, priority=True, id="review.similar",
                tooltip="Back to the list, showing this item and its near-duplicates, marked"),
        Binding("j", "judge", "Ask judge", show=False, priority=True, id="review.judge",
                tooltip="Ask the LLM judge for a suggestion (judge_model in reviewer.toml)"),
        Binding("C", "take_correction", "Take suggested correction", show=False, priority=True,
                id="review.take_correction", tooltip="Open the judge's correction in the editor"),
        Binding("R", "reject_suggested", "Reject as suggested", show=False, priority=True,
                id="review.reject_suggested", tooltip="Open the reject picker with the judge's reasons ticked"),
        Binding("question_mark", "app.help", "Help", priority=True, id="review.help"),
        Binding("q,escape", "back", "Back", priority=True, id="review.back"),
    ]

    class Loaded(Message):
        """The answer to load request `request`."""

        def __init__(self, request: int, shown: Shown) -> None:
            super().__init__()
            self.request, self.shown = request, shown

    class Renewed(Message):
        def __init__(self, old: Lease, new: Lease | None, error: str | None) -> None:
            super().__init__()
            self.old, self.new, self.error = old, new, error

    class Judged(Message):
        """The judge's answer for item `item_id`: a stored suggestion, or why there is none."""

        def __init__(self, item_id: str, suggestion: Suggestion | None, error: str | None) -> None:
            super().__init__()
            self.item_id, self.suggestion, self.error = item_id, suggestion, error

    def __init__(self, source: Source, index: int, item_id: str | None = None, total: int = 0) -> None:
        super().__init__()
        self.source = source
        self.index = index  # where the item was opened in the list; navigation then goes by id
        self.progress = panes.Progress(index + 1, total, time.monotonic())
        self.first_id = item_id
        self.item: QueueItem | None = None
        self.lease: Lease | None = None
        self.shown_at = time.monotonic()
        self.correction: str | None = None
        self.mode = "output"
        self.busy = False
        self.request = 0  # the latest load; results of older ones are dropped
        self.settings = QueueSettings()  # the shown item's queue's: guidelines, reasons, lease
        self.offline = False  # showing that the gateway is away (a decision waits in the outbox)
        self.done = False  # showing "Queue done": new arrivals are looked for
        self.ignored = 0  # keys dropped while the next item was on its way, not yet said
        self._keys: tuple[bool, bool] | None = None  # (held, an action): what the footer offers
        self.asking: set[str] = set()  # items the judge is being asked about
        self.note: str | None = None  # why the shown item is read-only, if it is

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…", style="dim"), id="item-title")
        with Horizontal(id="review-body"):
            with VerticalScroll(id="context"):
                # one widget for the whole pane: one text to wrap and lay out per item
                yield Static(id="context-text")
            with Vertical(id="main"):
                yield Static(id="main-title")
                with Vertical(id="main-body"):
                    # Built once and updated per item: remounting per item grew the heap
                    # (and the GC pauses) with every decision.
                    with VerticalScroll(id="main-scroll"):
                        yield Static(id="output-text")
                    yield Static(id="preview-title")
                    yield DiffView(id="diff")
        yield Static(id="last-decision")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.open(self.first_id, index=self.index)
        self.set_interval(MIN_LEASE_S / 3, self.renew)
        self.set_interval(1.0, self.tick)
        self.set_interval(DONE_POLL_S, self.look_for_new)

    # -- loading: workers take their inputs as arguments and answer with Loaded ---------

    @property
    def session(self) -> ReviewSession:
        return ReviewSession(self.rapp.wait_queue, self.rapp.reviewer, self.source)

    def _next_request(self) -> int:
        self.request += 1
        self.busy = True
        return self.request

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def _load(self, request: int, call: Callable[[], Shown]) -> None:
        self.post_message(self.Loaded(request, call()))

    def open(self, item_id: str | None, index: int = 0) -> None:
        """Show exactly this item (read-only if someone else holds it or it is settled)."""
        self._load(self._next_request(), partial(self.session.open, item_id, index))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Deciding keys only while the item is held (not on a decided or read-only item)."""
        if action in DECIDING and self.lease is None and not self.busy:
            return False  # (while the next item is on its way the key runs, to be counted as dropped)
        is_action = self.item is not None and isinstance(self.item.item, ActionItem)
        if action == "edit_external" and is_action or action == "edit_arguments" and not is_action:
            return False  # `e` edits the text of an output, the arguments of an action
        return True

    def action_edit_arguments(self) -> None:
        self.edit_arguments()

    def step(self, backwards: bool = False) -> None:
        """Release this item (if held) and claim the next (or previous) one of the source."""
        self.progress = self.progress.moved(-1 if backwards else 1)
        current = self.item.id if self.item is not None else None
        lease, self.lease = self.lease, None
        self._load(self._next_request(), partial(self.session.step, current, backwards=backwards, release=lease))

    def on_review_screen_loaded(self, msg: Loaded) -> None:
        shown = msg.shown
        if msg.request != self.request:
            if shown.lease is not None:  # a late answer claimed an item nobody will look at
                self.release(shown.lease)
            return
        self.busy = False
        self._say_ignored()
        if shown.offline:
            self.item, self.lease = None, None
            self.offline = True
            self.show_offline(shown.note or "")
            self.rapp.set_reconnecting(True)
            return
        self.offline = False
        if shown.decided is not None:
            self.rapp.history.append(shown.decided.item_id)
            self.progress = self.progress.decided()
            self.query_one("#last-decision", Static).update(panes.last_decision(shown.decided))
        if shown.first_of_two:
            self.notify("First approval recorded: a second, different reviewer must approve this "
                        "critical action.", markup=False)
        if self.lease is not None and (shown.item is None or self.lease.item_id != shown.item.id):
            self.release(self.lease)
        if shown.item is None and shown.note is not None and self.item is not None:
            self.notify(safe_line(shown.note, 200), markup=False)  # nothing before this one: stay
            self._reclaim()
            return
        self.item, self.lease = shown.item, shown.lease
        self.settings = shown.settings or self.settings
        self.correction = None
        self.shown_at = time.monotonic()
        if shown.item is None:
            self.show_done()
            return
        self.done = False
        standing = standing_decision(shown.item)
        has_other = shown.item.item.reference if isinstance(shown.item.item, OutputItem) else None
        if standing is not None and standing.correction is not None:
            has_other = standing.correction
        self.mode = "inline" if has_other else "output"
        keys = (self.lease is not None, isinstance(shown.item.item, ActionItem))
        if keys != self._keys:  # deciding keys need the lease; `e` depends on the kind
            self._keys = keys
            self.refresh_bindings()  # (the footer rebuilds itself: not on every item)
        self.show(shown.item, shown.note)

    def _say_ignored(self) -> None:
        if self.ignored:
            n, self.ignored = self.ignored, 0
            self.rapp.ignored_keys += n
            self.notify(f"{n} key{'s' if n != 1 else ''} ignored: the next item was not on screen yet",
                        severity="warning", markup=False)

    def on_screen_resume(self) -> None:
        """Back from a dialog: the footer was rebuilt while the decision held no lease, so the
        next item rebuilds it again with its deciding keys."""
        self._keys = None
        self.refresh_bindings()

    def _reclaim(self) -> None:
        """Stay on the current item after a move found nothing: take it back."""
        if self.item is not None:
            self.open(self.item.id)

    # -- rendering ----------------------------------------------------------------------

    def show_offline(self, note: str) -> None:
        self.query_one("#item-title", Static).update(Text(" OFFLINE: reconnecting… ", style="bold reverse yellow"))
        for wid in ("#context-text", "#main-title"):
            self.query_one(wid, Static).update("")
        self._layout(scroll=True, diff=False, preview=False)
        self.query_one("#output-text", Static).update(Text(
            f"{safe_line(note, 400)}\n\nThe next item opens once the gateway answers again. q: back to the queue"))

    def back_online(self) -> None:
        """The gateway answers again: move on from the offline notice."""
        if self.offline and not self.busy:
            self.offline = False
            self.step()

    def look_for_new(self) -> None:
        """On "Queue done": claim an item that arrived since (the first of the source)."""
        if self.done and not self.busy and not self.offline and self.is_current and self.rapp.queue is not None:
            self._load(self._next_request(), self.session.step_if_pending)

    def show_done(self) -> None:
        self.done = True
        self.query_one("#item-title", Static).update(Text(" Queue done ", style="bold reverse green"))
        for wid in ("#context-text", "#main-title"):
            self.query_one(wid, Static).update("")
        self._layout(scroll=True, diff=False, preview=False)
        self.query_one("#output-text", Static).update(
            Text("Nothing left to review here. u: undo the last decision · q: back to the queue"))

    def show(self, q: QueueItem, note: str | None) -> None:
        self.note = note
        self.show_title()
        self.show_context(q)
        self.show_main()

    def show_title(self) -> None:
        if self.item is not None and not self.offline and not self.done:
            self.query_one("#item-title", Static).update(panes.title(
                self.item, self.rapp.clock(), self.lease is not None, self.note,
                self.progress.text(time.monotonic()), width=self.app.size.width))

    def resized(self) -> None:
        self.show_title()

    def show_context(self, q: QueueItem) -> None:
        self.query_one("#context-text", Static).update(
            panes.context(q.item, self.settings.guidelines, q, self.rapp.judge_model, q.id in self.asking))

    def _layout(self, *, scroll: bool, diff: bool, preview: bool) -> None:
        self.query_one("#main-scroll").display = scroll
        self.query_one("#diff").display = diff
        self.query_one("#preview-title").display = preview

    def show_main(self) -> None:
        q = self.item
        if q is None:
            return
        it = q.item
        title = Text()
        if isinstance(it, ActionItem):
            self.show_action(it)
            return
        standing = standing_decision(q)
        if self.correction is not None:
            other, label = self.correction, "your correction"
        elif standing is not None and standing.correction is not None:
            other, label = standing.correction, f"correction by {safe_line(standing.reviewer, 40)}"
        elif it.reference is not None:
            other, label = it.reference, "reference"
        else:
            other, label = None, ""
        if self.mode == "output" or other is None:
            title.append_text(heading("Output"))
            if len(it.output) > DISPLAY_LIMIT:
                title.append(f"  {len(it.output):,} chars, v: full text", style="dim")
            self.query_one("#output-text", Static).update(plain(it.output))
            self.query_one("#main-scroll", VerticalScroll).scroll_home(animate=False)
            self._layout(scroll=True, diff=False, preview=False)
        else:
            title.append_text(heading(f"Diff: output → {label}"))
            title.append(f"  ({self.mode}; d: switch)", style="dim")
            self.query_one("#diff", DiffView).show(it.output, other, side=self.mode == "side")
            self._layout(scroll=False, diff=True, preview=False)
        self.query_one("#main-title", Static).update(title)

    def action_title(self, it: ActionItem) -> Text:
        """`Action tool RISK 12m30s left`, for the pane title (refreshed every second)."""
        return panes.action_title(it, self.item.expires_at if self.item else None, self.rapp.clock())

    def show_action(self, it: ActionItem) -> None:
        self.query_one("#main-title", Static).update(self.action_title(it))
        q = self.item
        edit = panes.pending_edit(q) if q is not None else None
        self.query_one("#output-text", Static).update(panes.action_call(it, edit, q.approvals if q else 0))
        preview = it.action.preview
        if preview is not None:
            self.query_one("#preview-title", Static).update(line(f"Preview: {preview.path or ''}",
                                                                 "bold underline"))
            self.query_one("#diff", DiffView).show(preview.before, preview.after, side=self.mode == "side")
        self._layout(scroll=True, diff=preview is not None, preview=preview is not None)

    def tick(self) -> None:
        if self.item is not None and isinstance(self.item.item, ActionItem) and self.item.expires_at:
            self.query_one("#main-title", Static).update(self.action_title(self.item.item))

    # -- leases -------------------------------------------------------------------------

    def renew(self) -> None:
        """Renew the lease once a third of it has run (the queue's own lease length)."""
        length = self.settings.lease_seconds
        if self.lease is not None and (self.lease.expires_at - self.rapp.clock()).total_seconds() < length * 2 / 3:
            self._renew(self.session, self.lease, length)

    @work(thread=True, exclusive=True, group="renew", exit_on_error=False)
    def _renew(self, session: ReviewSession, lease: Lease, length: float) -> None:
        self.post_message(self.Renewed(lease, *session.renew(lease, length)))

    def on_review_screen_renewed(self, msg: Renewed) -> None:
        if self.lease is None or self.lease.token != msg.old.token or self.lease.item_id != msg.old.item_id:
            return  # the screen moved on: this renewal is for a lease it no longer holds
        self.lease = msg.new
        if msg.error:
            self.notify(safe_line(msg.error, 300), severity="warning", markup=False)

    def on_unmount(self) -> None:
        """Gone for good (the app quits, or its `reviewer web` server ended it): give the item
        back now; a worker would not run any more."""
        if self.lease is not None and self.rapp.queue is not None:
            lease, self.lease = self.lease, None
            try:
                self.rapp.queue.release(lease)
            except ReviewerError:
                pass  # the lease runs out on its own

    def release(self, lease: Lease) -> None:
        if self.rapp.queue is not None:
            self._release(self.rapp.queue, lease)

    @work(thread=True, group="release", exit_on_error=False)
    def _release(self, queue: ReviewQueue, lease: Lease) -> None:
        queue.release(lease)

    # -- decisions ----------------------------------------------------------------------

    def _ignored(self) -> bool:
        """A key pressed before the next item was on screen: dropped (never applied to an
        item the reviewer has not seen), counted, and said once that item shows."""
        if self.busy:
            self.ignored += 1
        return self.busy

    def _can_decide(self) -> bool:
        if self._ignored() or self.item is None:
            return False
        if self.lease is None:
            self.notify("This item is read-only here (not claimed by you).", severity="warning")
            return False
        return True

    def decide(self, verdict: str, **fields: object) -> None:
        if not self._can_decide():
            return
        self.busy = True
        duration = int((time.monotonic() - self.shown_at) * 1000)
        d = DecisionIn(verdict=verdict, reviewer=self.rapp.reviewer, duration_ms=duration, **fields)
        assert self.item is not None
        lease, self.lease = self.lease, None  # the decision consumes it
        self._load(self._next_request(), partial(self.session.decide, self.item, d, lease))

    def _critical(self) -> bool:
        return self.item is not None and is_critical_action(self.item.item)

    def _confirm_critical(self, then: Callable[[], None], *, as_is: bool = False) -> None:
        """Run `then` at once, or for a critical action after its tool name is typed. `as_is`:
        `then` approves the arguments as they stand, so the dialog shows a first approver's
        edit, which is what will run."""
        if not self._critical():
            then()
            return
        q = self.item
        assert q is not None and isinstance(q.item, ActionItem)
        edit = panes.pending_edit(q) if as_is else None
        change = None if edit is None else (edit.reviewer, panes.argument_change(q.item, edit))

        def typed(ok: bool | None) -> None:
            if ok:
                then()

        self.app.push_screen(TypedConfirm(q.item.action.tool, change=change), typed)

    def action_approve(self) -> None:
        if self._can_decide():
            self._confirm_critical(lambda: self.decide("approve"), as_is=True)

    def action_approve_with_comment(self) -> None:
        if not self._can_decide():
            return

        def commented(text: str | None) -> None:
            if text is not None:
                self._confirm_critical(lambda: self.decide("approve", comment=text), as_is=True)

        self.app.push_screen(CommentDialog("Approve, with a comment:"), commented)

    def edit_arguments(self, start: dict | None = None, reasons: list[str] | None = None) -> None:
        """An action: edit the arguments as JSON (from `start`, else from what an approval
        would run), confirm the diff against the request, approve as `correct` (with
        `reasons`, a judge's)."""
        if not self._can_decide():
            return
        assert self.item is not None and isinstance(self.item.item, ActionItem)
        tool, original = self.item.item.action.tool, self.item.item.action.arguments
        before = json.dumps(original, indent=2, ensure_ascii=False)

        def edited(value: dict | None) -> None:
            if value is None:
                return
            if value == original:
                self.notify("No change: press a to approve as it is.", severity="warning")
                return
            after = json.dumps(value, indent=2, ensure_ascii=False)

            def confirmed(ok: bool | str | None) -> None:
                if ok:
                    comment = ok if isinstance(ok, str) else None
                    self._confirm_critical(lambda: self.decide("correct", arguments=value, comment=comment,
                                                               reasons=reasons or []))
                else:
                    self.edit_arguments(value, reasons)

            self.app.push_screen(ConfirmEdits(before, after), confirmed)

        if start is None:  # from what would run: a first approver's edit, else the request
            edit = panes.pending_edit(self.item)
            start = edit.arguments if edit is not None and edit.arguments is not None else original
        self.app.push_screen(ArgumentsEditor(tool, start), edited)

    def action_reject(self, chosen: list[str] | None = None) -> None:
        if not self._can_decide() or self.item is None:
            return
        reasons = self.settings.reasons_for(self.item.kind)

        def done(result: tuple[list[str], str | None] | None) -> None:
            if result is not None:
                self.decide("reject", reasons=result[0], comment=result[1])

        self.app.push_screen(RejectDialog(reasons, chosen=chosen or []), done)

    def _to_correct(self) -> str | None:
        """The output text to correct, or None: an action goes to the argument editor instead,
        and an item that cannot be decided here says why."""
        if self.item is not None and isinstance(self.item.item, ActionItem):
            self.edit_arguments()
            return None
        if not self._can_decide() or self.item is None or not isinstance(self.item.item, OutputItem):
            return None
        return self.item.item.output

    def action_correct(self, start: str | None = None, reasons: list[str] | None = None) -> None:
        if (original := self._to_correct()) is None:
            return

        def edited(text: str | None) -> None:
            if text is not None:
                self.confirm_correction(original, text, reasons)

        self.app.push_screen(CorrectScreen(start or self.correction or original), edited)

    def confirm_correction(self, original: str, text: str, reasons: list[str] | None = None) -> None:
        text = corrected_text(text)
        if text == corrected_text(original):
            self.notify("No change: nothing to correct.", severity="warning")
            return
        if not text.strip():
            self.notify("The correction is empty; reject the output instead.", severity="warning")
            return
        self.correction = text

        def confirmed(ok: bool | str | None) -> None:
            if ok:
                self.decide("correct", correction=text, comment=ok if isinstance(ok, str) else None,
                            reasons=reasons or [])
            else:
                self.action_correct(reasons=reasons)

        self.app.push_screen(ConfirmCorrection(original, text), confirmed)

    # -- the judge's suggestion (never a decision: it only fills the editor or the picker) --

    def _suggested(self, what: str) -> Suggestion | None:
        """The latest suggestion, if it has `what` (a correction, reasons); else says why not."""
        found = self.item.suggestions[-1] if self.item is not None and self.item.suggestions else None
        has = found is not None and (found.verdict == "correct" if what == "correction" else bool(found.reasons))
        if not has:
            self.notify(f"No suggested {what} for this item" + (": j asks the judge." if found is None else "."),
                        severity="warning")
            return None
        return found

    def action_take_correction(self) -> None:
        """The judge's correction (or arguments) in the editor; its reasons go with it."""
        if (s := self._suggested("correction")) is None or self.item is None:
            return
        reasons = [r for r in s.reasons if r in self.settings.reasons_for(self.item.kind)]
        if s.arguments is not None:
            self.edit_arguments(s.arguments, reasons)
        elif s.correction is not None:
            self.action_correct(s.correction, reasons)

    def action_reject_suggested(self) -> None:
        if (s := self._suggested("reasons")) is not None:
            self.action_reject(s.reasons)

    def action_judge(self) -> None:
        q = self.item
        if q is None or self.busy:
            return
        judge = self.rapp.judge()
        if judge is None:
            self.notify("No judge set: add judge_model = \"openai/gpt-4o-mini\" to reviewer.toml (or set "
                        "REVIEWER_JUDGE_MODEL), with the assist extra installed.", severity="warning", markup=False)
            return
        if q.id in self.asking:
            return
        self.asking.add(q.id)
        self.show_context(q)
        self._ask(judge, self.rapp.wait_queue, self.rapp.reviewer, q, self.settings)

    @work(thread=True, group="judge", exit_on_error=False)
    def _ask(self, judge: Judge, queue: Callable[[], ReviewQueue], reviewer: str, q: QueueItem,
             settings: QueueSettings) -> None:
        try:
            made = queue().suggest(judge(q, settings), actor=reviewer)
        except Exception as e:  # shown to the reviewer; the screen goes on
            hint = getattr(e, "hint", None)
            self.post_message(self.Judged(q.id, None, f"{e}" + (f" ({hint})" if hint else "")))
        else:
            self.post_message(self.Judged(q.id, made, None))

    def on_review_screen_judged(self, msg: Judged) -> None:
        self.asking.discard(msg.item_id)
        if self.item is None or self.item.id != msg.item_id:
            # the screen moved on: a suggestion is stored (the item shows it when opened), a
            # failure is still said, naming the item
            if msg.error is not None:
                self.notify(safe_line(f"The judge could not answer about {msg.item_id}: {msg.error}", 300),
                            severity="error", markup=False)
            return
        if msg.suggestion is not None:
            s = msg.suggestion
            kept = [x for x in self.item.suggestions if (x.model, x.prompt_version) != (s.model, s.prompt_version)]
            self.item = self.item.model_copy(update={"suggestions": [*kept, s]})
            self.notify(f"The judge suggests {s.verdict} (confidence {s.confidence:.2f}).", markup=False)
        else:
            self.notify(safe_line(f"The judge could not answer: {msg.error}", 300), severity="error", markup=False)
        self.show_context(self.item)

    def action_edit_external(self) -> None:
        if (original := self._to_correct()) is None:
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write(self.correction or original)
            path = f.name
        try:
            try:
                with self.app.suspend():
                    subprocess.run([*shlex.split(editor), path], check=False)
            except SuspendNotSupported:
                subprocess.run([*shlex.split(editor), path], check=False,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as e:
            self.notify(safe_line(f"Editor failed: {e}", 300), severity="error", markup=False)
            return
        finally:
            os.unlink(path)
        self.confirm_correction(original, text)

    def action_skip(self) -> None:
        if not self._ignored():
            if self.item is not None:
                self.notify(f"Skipped {safe_line(self.item.id, 60)}: it stays in the queue for later.",
                            timeout=2, markup=False)
            self.step()

    def action_move(self, step: int) -> None:
        if not self._ignored():
            self.step(backwards=step < 0)

    def action_toggle_diff(self) -> None:
        it = self.item.item if self.item is not None else None
        if isinstance(it, OutputItem) and it.reference is None and self.correction is None or \
                isinstance(it, ActionItem) and it.action.preview is None:
            self.notify("Nothing to diff: no reference, correction or preview.", severity="warning")
            return
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.show_main()

    def action_full_text(self) -> None:
        if self.item is not None and isinstance(self.item.item, OutputItem):
            self.app.push_screen(FullTextScreen("Output", self.item.item.output))

    def action_back(self) -> None:
        self.request += 1  # an answer still on its way is for nobody now
        if self.lease is not None:
            self.release(self.lease)
            self.lease = None
        self.dismiss()

    def action_similar(self) -> None:
        if self.item is None:
            return
        from .queue_screen import QueueScreen

        item_id = self.item.id
        self.action_back()
        for screen in self.app.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.show_similar(item_id)

    def show_undone(self, item_id: str) -> None:
        """After an undo: show the item that came back, claimed."""
        self.progress = self.progress.undone()
        self.query_one("#last-decision", Static).update(line(f" ↺ undone {item_id}: it is back, claimed by you",
                                                             "bold yellow"))
        self.open(item_id)

    def handle_error(self, error: BaseException) -> None:
        self.busy = False
        if isinstance(error, Unreachable):  # a move that could not reach the gateway
            self.offline = True
            self.show_offline(str(error))
            return
        if isinstance(error, Expired | LeaseError | AlreadyDecided) and self.item is not None:
            self.open(self.item.id)

