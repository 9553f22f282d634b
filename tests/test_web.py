"""`reviewer web`: each browser session signs in with its own token; a local queue is served on
loopback only."""

from __future__ import annotations

import click
import pytest
from tuikit import drawn_text, settle

from reviewer.cli.tui import web_command
from reviewer.screens import make_app
from reviewer.screens.queue_screen import QueueScreen
from reviewer.screens.sign_in import SignInScreen
from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from factories import output
from gateway import serve


def test_a_local_queue_is_served_on_loopback_only_and_a_gateway_session_signs_in():
    with pytest.raises(click.UsageError, match="loopback only"):
        web_command("sqlite:////tmp/q.db", gateway=False, host="0.0.0.0")
    assert web_command("sqlite:////tmp/q.db", gateway=False, host="127.0.0.1").endswith("--db sqlite:////tmp/q.db tui")
    cmd = web_command("https://gw.example.com", gateway=True, host="0.0.0.0")
    assert cmd.endswith("--gateway https://gw.example.com tui --sign-in")


async def test_each_session_signs_in_with_its_own_token_and_acts_as_that_reviewer(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'gw.db'}")
    tokens = Tokens(q.engine)
    alice = tokens.create("alice", "reviewer")[0]
    bot = tokens.create("bot", "agent")[0]
    q.enqueue(output(1, queue="support"), actor="bot")
    with serve(q) as url:
        app = make_app(lambda: None, sign_in=url, config={})  # type: ignore[arg-type,return-value]
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, SignInScreen))
            for token, said in (("not-a-token", "unknown or revoked token"), (bot, "agent token")):
                app.screen.query_one("#token").value = token
                await pilot.press("enter")
                await settle(pilot, lambda s=said: s in drawn_text(app))
                assert isinstance(app.screen, SignInScreen)
            app.screen.query_one("#token").value = alice
            await pilot.press("enter")
            await settle(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.query_one("QueueList").total)
            assert app.reviewer == "alice" and "as alice" in drawn_text(app)
            assert alice not in drawn_text(app)  # the token is never shown
            await pilot.press("enter")  # review the item
            await settle(pilot, lambda: type(app.screen).__name__ == "ReviewScreen" and app.screen.item is not None)
            await pilot.press("a")
            await settle(pilot, lambda: q.get("out-1").status == "decided")
    assert q.get("out-1").decided_by == "alice"
    q.close()
