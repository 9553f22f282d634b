"""Random and hostile keys thrown at the real app for REVIEWER_FUZZ_SECONDS (default 60).

Fails if the app raises, exits without a quit key, exits with an error code, or a worker hits
an error that is not a `ReviewerError` (the app would show "this is a bug"). The seed is
fixed; on failure the seed and the key sequence since the last (re)start are printed.
"""

from __future__ import annotations

import os
import random
import string
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.widgets import Input
from textual.worker import WorkerState
from tuikit import ACTIONS, SIZE, app_for, loaded, make_queue

from reviewer.errors import ReviewerError
from reviewer.screens.app import ReviewerApp
from reviewer.screens.dialogs import (
    ArgumentsEditor,
    ConfirmCorrection,
    CorrectScreen,
    ErrorScreen,
    FullTextScreen,
    HelpScreen,
    RejectDialog,
    TypedConfirm,
)
from reviewer.screens.queue_list import QueueList
from reviewer.screens.queue_screen import QueueScreen
from reviewer.screens.review_screen import ReviewScreen

SEED = 1234
SECONDS = float(os.environ.get("REVIEWER_FUZZ_SECONDS", "60"))
SCREENS = [ReviewerApp, QueueScreen, QueueList, ReviewScreen, RejectDialog, CorrectScreen,
           ConfirmCorrection, HelpScreen, ErrorScreen, FullTextScreen, ArgumentsEditor, TypedConfirm]


def binding_keys() -> list[str]:
    """Every key bound on the app and its screens (read from the classes, so new ones count)."""
    keys: set[str] = set()
    for cls in SCREENS:
        for b in cls.BINDINGS:
            if isinstance(b, Binding):
                keys.update(k.strip() for k in b.key.split(","))
    return sorted(keys)


NAMED = ["enter", "escape", "tab", "shift+tab", "space", "backspace", "delete", "up", "down", "left",
         "right", "home", "end", "pageup", "pagedown", "ctrl+s", "ctrl+p", "ctrl+r", "ctrl+a", "ctrl+e",
         "ctrl+k", "ctrl+u", "ctrl+w", "ctrl+z", "ctrl+y", "ctrl+x", "ctrl+v", "ctrl+home", "ctrl+end",
         "shift+up", "shift+down", "shift+enter", "alt+enter", "question_mark", "slash",
         *[f"f{n}" for n in range(1, 13)]]
HOSTILE = ["\x1b", "\x00", "\x07", "\x7f", "\x9b", "\u202e", "\u2066", "\u2028", "\ufeff", "[", "]", "/",
           "\\", "{", "}", '"', "'", "%", "$", "é", "ß", "中", "ق", "😀", "\u0301", "\U0010ffff"]
QUIT_KEYS = {"ctrl+q", "ctrl+c"}  # anywhere; "q" quits from the queue screen only
BOUND = binding_keys()
KEYS = sorted({*BOUND, *NAMED, *HOSTILE, *string.printable.strip()})
# The first app run starts with a tour of every screen, from a clean state.
TOUR: list[tuple[str, ...]] = [("enter", "r"), ("end", "enter", "c"), ("question_mark",),
                               ("enter", "question_mark"), ("slash", *"concur"), ("enter", "a")]
# Then every burst starts from the queue screen with one of these, so every screen gets its
# share. Actions come first in the list and outputs last ("end" is an output).
OPENERS: list[tuple[str, ...]] = [
    (), ("slash",), ("enter",), ("enter", "r"), ("end", "enter", "c"), ("question_mark",),
    ("enter", "question_mark"), ("end", "enter", "e"), ("end", "up", "enter", "v"), ("ctrl+p",), ("f",),
    ("down", "down", "enter", "r"), ("enter", "c"), ("end", "enter", "r"), ("down", "enter", "a"),
    ("slash", *"concur"), ("slash", *"refund", "enter", "enter"), ("end", "up", "enter", "c", "ctrl+s"),
]


class Crash(Exception):
    """The app misbehaved; the message says how."""


class Fuzzer:
    """Runs apps one after another on fresh queues and presses keys until the deadline."""

    def __init__(self, tmp_path: Path, rng: random.Random, deadline: float) -> None:
        self.tmp_path, self.rng, self.deadline = tmp_path, rng, deadline
        self.runs = 0
        self.keys: list[str] = []  # since the current app started
        self.total_keys = 0
        self.seen: set[str] = set()
        self.expected_errors: list[str] = []  # ReviewerErrors shown by the app: fine
        self.stuck = 0  # bursts where escape did not lead back to the queue screen
        self.decisions = 0  # decisions (and undos) the random keys recorded, over all runs

    def where(self, app: ReviewerApp) -> str:
        """The current screen's class name, or `search` when the search box has focus."""
        focused = app.focused
        if isinstance(focused, Input) and focused.id == "search":
            return "search"
        return type(app.screen).__name__

    async def run_app(self) -> None:
        """One app on a fresh queue, until a quit key ends it or the time is up."""
        self.runs += 1
        folder = self.tmp_path / f"run-{self.runs}"
        folder.mkdir()
        queue = make_queue(folder, ACTIONS)
        app = app_for(queue)
        bugs: list[BaseException] = []
        forward = app.worker_changed

        def watch(event: Any) -> None:
            error = event.worker.error
            if event.state == WorkerState.ERROR and error is not None:
                if isinstance(error, ReviewerError):
                    self.expected_errors.append(str(error))
                else:
                    bugs.append(error)
            forward(event)

        app.worker_changed = watch  # type: ignore[method-assign]
        self.keys = []
        problem: str | None = None
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await loaded(pilot)
                problem = await self.drive(app, pilot, bugs)
        except Exception as e:  # raised by the app (re-raised by run_test) or by Pilot
            problem = (problem or "the app raised") + ":\n" + "".join(traceback.format_exception(e))
        finally:
            if problem is None:
                self.decisions += sum(len(queue.get(row.id).decisions) for row in queue.list_items(limit=1000))
            queue.close()
        if problem is None and app.return_code not in (None, 0):
            problem = f"the app exited with return code {app.return_code}"
        if problem is not None:
            raise Crash(problem)

    async def drive(self, app: ReviewerApp, pilot: Any, bugs: list[BaseException]) -> str | None:
        """Bursts of keys; None when a quit key ended the app or time is up, else the problem."""
        n = 0
        while time.monotonic() < self.deadline:
            touring = self.runs == 1 and n < len(TOUR)
            opener = TOUR[n] if touring else self.rng.choice(OPENERS)
            n += 1
            if not await self.home(app, pilot):
                if not app.is_running:
                    return "the app exited on its own after 'escape'"
                self.stuck += 1
            burst = [*opener, *(None for _ in range(0 if touring else self.rng.randint(3, 30)))]
            for i, planned in enumerate(burst):
                key = planned if planned is not None else self.pick(app)
                before = self.where(app)
                self.keys.append(key)
                self.total_keys += 1
                await pilot.press(key)
                if i < len(opener):  # let the opener land (the review screen loads in a worker)
                    await self.calm(app, pilot)
                self.seen.add(self.where(app) if app.is_running else before)
                if bugs:
                    return "a worker raised " + "".join(traceback.format_exception(bugs[0]))
                if app.return_code is not None or not app.is_running:
                    if app.return_code not in (None, 0):
                        return f"the app exited with return code {app.return_code} after {key!r}"
                    if key in QUIT_KEYS or (key == "q" and before == "QueueScreen") or \
                            (key == "enter" and before == "CommandPalette"):
                        return None  # asked to quit: start a new app
                    return f"the app exited on its own after {key!r} on {before}"
                if tuple(app.size) != SIZE:
                    return f"the terminal size changed to {app.size}"
            await pilot.pause()
            if self.rng.random() < 0.3:
                await app.workers.wait_for_complete()
        return None

    def pick(self, app: ReviewerApp) -> str:
        """A key: often one the current screen binds (to get deeper), else any key at all."""
        r = self.rng.random()
        if r < 0.35:
            active = sorted(k for k in app.screen.active_bindings if k not in QUIT_KEYS and k != "q")
            if active:
                return self.rng.choice(active)
        if r < 0.5:
            return self.rng.choice(BOUND)
        return self.rng.choice(KEYS)

    async def calm(self, app: ReviewerApp, pilot: Any) -> None:
        """Wait (a little) for workers, and for the review screen to show its item."""
        for _ in range(50):
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen if app.is_running else None
            if not isinstance(screen, ReviewScreen) or screen.item is not None:
                return
            await pilot.pause(0.01)

    async def home(self, app: ReviewerApp, pilot: Any) -> bool:
        """Escape back to the queue screen (as a user would); False if that did not work."""
        for _ in range(8):
            if isinstance(app.screen, QueueScreen) and self.where(app) != "search":
                return True
            self.keys.append("escape")
            await pilot.press("escape")
            await pilot.pause()
            if not app.is_running:
                return False
        return isinstance(app.screen, QueueScreen)


async def test_random_keys_never_crash_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue, review, reject, correct, help, search and palette under random and hostile keys."""
    monkeypatch.setenv("EDITOR", "true")  # `e` runs an editor that changes nothing
    monkeypatch.delenv("VISUAL", raising=False)
    fuzz = Fuzzer(tmp_path, random.Random(SEED), time.monotonic() + SECONDS)
    while time.monotonic() < fuzz.deadline:
        try:
            await fuzz.run_app()
        except Crash as e:
            report = (f"seed {SEED}, app run {fuzz.runs}, {len(fuzz.keys)} keys since it started:\n"
                      f"{fuzz.keys!r}\n{e}")
            print(report)
            raise AssertionError(report) from None
    print(f"fuzz: {fuzz.total_keys} keys over {fuzz.runs} app runs; screens seen: {sorted(fuzz.seen)}; "
          f"decisions recorded: {fuzz.decisions}; expected errors shown: {len(fuzz.expected_errors)}; "
          f"stuck bursts: {fuzz.stuck}")
    if SECONDS >= 10:  # time for the tour
        assert {"QueueScreen", "ReviewScreen", "RejectDialog", "CorrectScreen", "HelpScreen",
                "search"} <= fuzz.seen, sorted(fuzz.seen)
