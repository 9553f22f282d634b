"""Notifications when something waits: a queue's rules send new items to Slack, Teams, email,
ntfy, a JSON webhook... through apprise (the `notify` extra), from wherever items arrive (the
gateway, or the process that enqueues into a local queue).

A message carries the item's id, kind, tool, risk, queue and deadline, made of plain words
only: nothing of the item's content, which could be markup or an escape sequence wherever the
message lands, and nothing secret. Sending never blocks or fails an enqueue: it happens on a
background thread, from a bounded queue, with retries and backoff; what is sent, what failed
for good and what was dropped are counted. A reminder goes out when half of an action's
deadline has passed and nobody has claimed it. A process that exits soon after enqueueing
(`reviewer ingest`) calls `flush_before_exit`: it waits a bounded time for what is queued, and
counts what is left, and the reminders it cannot wait for, as dropped.

`to_desktop` is the app's own: a desktop notification (macOS, Windows, a Linux desktop's
D-Bus session) when a high or critical action arrives while the reviewer is elsewhere.
"""

from __future__ import annotations

import logging
import os
import queue as stdq
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .vocab import RISKS

if TYPE_CHECKING:
    from .models import ActionItem, NotifyRule, OutputItem

ATTEMPTS = 5  # tries per message: the first, then retries after BACKOFF_S, doubled each time
BACKOFF_S = 0.2
BOUND = 1000  # messages waiting to be sent; beyond, dropped and counted
FLUSH_S = 5.0  # how long a process that is exiting waits for its notifications to go out
_PLAIN = re.compile(r"[^A-Za-z0-9 ._:@/+-]")


def plain(text: str, limit: int = 80) -> str:
    """Only letters, digits and a few separators: inert in Slack, Markdown, HTML or a terminal."""
    return _PLAIN.sub("", text)[:limit]


def matches(rule: NotifyRule, item: OutputItem | ActionItem) -> bool:
    if rule.kinds and item.kind not in rule.kinds:
        return False
    risk = getattr(item, "risk", None)
    if item.kind == "action" and rule.min_risk is not None and RISKS.index(risk) < RISKS.index(rule.min_risk):
        return False
    return not rule.flags or any(f.reason.startswith(tuple(rule.flags)) for f in item.flags)


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def message(item_id: str, item: OutputItem | ActionItem, deadline: datetime | None, *, reminder: bool = False) -> Message:
    """What a notification says: plain words about the item, never its content."""
    if item.kind == "action":
        what = f"{plain(getattr(item, 'risk', ''))} action {plain(item.action.tool)}"
    else:
        what = "flagged output (" + ", ".join(plain(f.reason, 40) for f in item.flags[:3]) + ")"
    due = f", deadline {deadline:%Y-%m-%d %H:%M} UTC" if deadline else ""
    head = "Still waiting" if reminder else "Waiting for review"
    return Message(f"reviewer: {head}: {what}",
                   f"{head}: {what} in queue {plain(item.queue)}{due}. Item {plain(item_id)}. "
                   f"Open it with: reviewer show {plain(item_id)}")


class Notifier:
    """Sends messages on a background thread; `send` never blocks (see the module docstring)."""

    def __init__(self, *, record: Callable[[str], None] | None = None,
                 still_waiting: Callable[[str], bool] | None = None) -> None:
        self._work: stdq.Queue[tuple[str, Message]] = stdq.Queue(maxsize=BOUND)
        self._record = record  # told "sent" / "failed" / "dropped" for each message
        self._still_waiting = still_waiting  # is this item still pending and unclaimed?
        self.counts = {"sent": 0, "failed": 0, "dropped": 0}
        self._lock = threading.Condition()
        self._unsettled = 0  # messages queued or being delivered
        self._timers: set[threading.Timer] = set()  # reminders not yet due
        self._closed = False
        _LIVE.add(self)
        threading.Thread(target=self._run, name="reviewer-notify", daemon=True).start()

    def send(self, to: str, msg: Message) -> None:
        with self._lock:
            if self._closed:
                self._count("dropped")
                return
            try:
                self._work.put_nowait((to, msg))
            except stdq.Full:
                self._count("dropped")
            else:
                self._unsettled += 1

    def remind_at(self, delay_s: float, item_id: str, to: str, msg: Message) -> None:
        """Send `msg` after `delay_s` if the item is still waiting, unclaimed, by then."""
        def fire() -> None:
            with self._lock:
                if timer not in self._timers:
                    return  # counted as dropped by `flush`
                self._timers.discard(timer)
            if self._still_waiting is None or self._still_waiting(item_id):
                self.send(to, msg)

        timer = threading.Timer(max(0.0, delay_s), fire)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def flush(self, deadline: float) -> dict[str, int]:
        """Wait until every queued message is settled or `time.monotonic()` reaches `deadline`;
        then count what is still unsent, and every reminder not yet due, as dropped, and send
        nothing more. For a process about to exit. Returns the counts."""
        with self._lock:
            self._lock.wait_for(lambda: self._unsettled == 0, timeout=max(0.0, deadline - time.monotonic()))
            self._closed = True
            for timer in self._timers:
                timer.cancel()
            for _ in range(self._unsettled + len(self._timers)):
                self._count("dropped")
            self._unsettled = 0
            self._timers.clear()
            return dict(self.counts)

    def _count(self, what: str) -> None:
        self.counts[what] += 1
        if self._record is not None:
            try:
                self._record(what)
            except Exception:
                pass  # counting must never stop the sender

    def _run(self) -> None:
        while True:
            to, msg = self._work.get()
            with self._lock:
                if self._closed:
                    continue  # already counted as dropped
            outcome = "sent" if self._deliver(to, msg) else "failed"
            with self._lock:
                if self._closed:
                    continue
                self._count(outcome)
                self._unsettled -= 1
                self._lock.notify_all()

    def _deliver(self, to: str, msg: Message) -> bool:
        import apprise

        pause = BACKOFF_S
        for attempt in range(ATTEMPTS):
            try:
                target = apprise.Apprise()
                if not target.add(to):
                    return False  # not a URL apprise knows: retrying will not help
                if target.notify(title=msg.title, body=msg.body):
                    return True
            except Exception:
                pass
            if attempt < ATTEMPTS - 1:
                time.sleep(pause)
                pause *= 2
        return False


_LIVE: weakref.WeakSet[Notifier] = weakref.WeakSet()  # this process's notifiers, for flush_before_exit


def flush_before_exit(timeout_s: float = FLUSH_S) -> dict[str, int] | None:
    """Give this process's notifications up to `timeout_s` to go out, then count the rest as
    dropped and say so on stderr in one line. None when this process had nothing to send."""
    notifiers = list(_LIVE)
    if not notifiers:
        return None
    deadline = time.monotonic() + timeout_s
    total = {"sent": 0, "failed": 0, "dropped": 0}
    for n in notifiers:
        for what, count in n.flush(deadline).items():
            total[what] += count
    sys.stderr.write(f"notifications: {total['sent']} sent, {total['failed']} failed, {total['dropped']} dropped"
                     + (" (not sent before this process exited; counted in reviewer stats)\n"
                        if total["dropped"] else "\n"))
    return total


def dispatch(notifier: Notifier, rules: list[NotifyRule], item_id: str, item: OutputItem | ActionItem,
             deadline: datetime | None, now: datetime) -> None:
    """Send what `rules` say about one new item, and schedule its half-deadline reminder."""
    for rule in rules:
        if not matches(rule, item):
            continue
        notifier.send(rule.to, message(item_id, item, deadline))
        if item.kind == "action" and deadline is not None and rule.remind:
            notifier.remind_at((deadline - now).total_seconds() / 2, item_id, rule.to,
                               message(item_id, item, deadline, reminder=True))


def to_desktop(title: str, body: str) -> None:
    """Show a desktop notification where the OS offers one, made of plain words only (a Linux
    notification server reads markup); nothing where it does not (no D-Bus session, no
    `desktop-notifier`). Blocks briefly: call it from a worker."""
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return
    try:
        from desktop_notifier import DesktopNotifierSync
    except ImportError:
        return
    logging.getLogger("desktop_notifier").propagate = False  # its failures would print over the TUI
    try:
        DesktopNotifierSync(app_name="reviewer").send(title=plain(title), message=plain(body, 200))
    except Exception:
        pass  # a notification is a courtesy: the toast and the bell still tell
