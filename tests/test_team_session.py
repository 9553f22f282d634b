"""A whole review session as a team member has it: a reviewer-role token, limited to its
queues, against a live gateway. Nothing in it may raise an error dialog (the app once asked the
gateway to expire deadlines, an admin's call, every few seconds)."""

from __future__ import annotations

from tuikit import SIZE, clock, make_queue, open_item, settle

from reviewer.client import HttpQueue
from reviewer.screens import make_app
from reviewer.screens.queue_screen import QueueScreen
from reviewer.storage.tokens import Tokens

from gateway import serve


async def test_a_reviewer_token_reviews_for_a_while_without_one_error_dialog(tmp_path, monkeypatch):
    from reviewer.screens.app import ReviewerApp

    errors: list[BaseException] = []
    shown = ReviewerApp.worker_changed

    def record(self, event):  # every worker error, whether or not a dialog was already up
        if event.worker.error is not None:
            errors.append(event.worker.error)
        shown(self, event)

    monkeypatch.setattr(ReviewerApp, "worker_changed", record)
    backing = make_queue(tmp_path)
    token = Tokens(backing.engine).create("alice", "reviewer", ["finchat", "support", "rag-qa"])[0]
    with serve(backing) as url:
        app = make_app(lambda: HttpQueue(url, token), reviewer="alice", config={}, clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.query_one("QueueList").total)
            # a token of three queues lists the three (it once had to name one), and no other
            assert app.screen.query_one("QueueList").total == backing.count() - 1  # not support-agent's action
            await pilot.pause(6)  # more than one sweep interval with the list on top
            await open_item(pilot, "fin-1")
            await pilot.press("a")
            await settle(pilot, lambda: backing.get("fin-1").status == "decided")
            await pilot.pause(3)  # a while on the review screen, then back to the list
            await pilot.press("escape")
            await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
            await pilot.pause(6)
            assert errors == [] and not any(type(s).__name__ == "ErrorScreen" for s in app.screen_stack)
    assert backing.get("fin-1").decisions[-1].reviewer == "alice"
    backing.close()
