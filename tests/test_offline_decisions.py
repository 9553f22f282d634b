"""Decisions made while the gateway is away: every kind goes to the outbox, and one banner
(not a stack of error dialogs) says the app is reconnecting."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tuikit import SIZE, clock, drawn_text, make_queue, open_item, settle

from reviewer.client import HttpQueue
from reviewer.outbox import Outbox
from reviewer.screens import make_app
from reviewer.screens.dialogs import ErrorScreen, RejectDialog
from reviewer.storage.tokens import Tokens

from gateway import serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path):
    backing = make_queue(tmp_path)
    token = Tokens(backing.engine).create("alice", "reviewer")[0]
    port = _free_port()
    server = serve(backing, sweep_s=0, port=port)
    url = server.__enter__()
    outbox = Outbox(tmp_path / "outbox.jsonl")
    app = make_app(lambda: HttpQueue(url, token, outbox=outbox), reviewer="alice", config={}, clock=clock)
    box = {"backing": backing, "port": port, "server": server, "outbox": outbox, "app": app, "up": True}
    yield box
    if box["up"]:
        server.__exit__(None, None, None)
    backing.close()


def _stop(box) -> None:
    box["server"].__exit__(None, None, None)
    box["up"] = False


async def test_a_reject_while_the_gateway_is_away_goes_to_the_outbox_and_is_sent(served):
    app, outbox, backing = served["app"], served["outbox"], served["backing"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        _stop(served)
        # the app's timers reach the gateway meanwhile (the urgent-action poll, the lease renewal)
        await asyncio.sleep(4)
        await pilot.pause()
        await pilot.press("r", "1", "enter")
        await settle(pilot, lambda: screen.offline)
        assert not any(isinstance(s, ErrorScreen | RejectDialog) for s in app.screen_stack)
        [saved] = outbox.saved()
        assert (saved.item_id, saved.decision.verdict, saved.decision.reasons) == ("fin-1", "reject",
                                                                                 ["hallucination"])
        assert "reconnecting" in drawn_text(app).lower()
        with serve(backing, sweep_s=0, port=served["port"]):
            await settle(pilot, lambda: screen.item is not None and not screen.offline, tries=600)
            assert backing.get("fin-1").status == "decided"
    assert outbox.saved() == []


async def test_a_bulk_reject_while_the_gateway_is_away_is_saved_and_sent(served):
    from tuikit import loaded

    app, outbox, backing = served["app"], served["outbox"], served["backing"]
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        ids = {lst.summary_at(i).id for i in range(lst.total) if lst.summary_at(i).queue == "rag-qa"}
        lst.set_marks({lst.summary_at(i).id: lst.summary_at(i) for i in range(lst.total)
                       if lst.summary_at(i).id in ids})
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("1", "enter")
        await settle(pilot, lambda: type(app.screen).__name__ == "BulkConfirm")
        _stop(served)
        await pilot.press("y")
        await settle(pilot, lambda: bool(outbox.saved()))
        [saved] = outbox.saved()
        assert set(saved.batch) == ids and saved.decision.verdict == "reject"
        assert not any(isinstance(s, ErrorScreen) for s in app.screen_stack)
        assert "reconnecting" in drawn_text(app).lower()
        with serve(backing, sweep_s=0, port=served["port"]):
            await settle(pilot, lambda: not outbox.saved() and not app.reconnecting, tries=600)
            assert {i: backing.get(i).status for i in ids} == {i: "decided" for i in ids}
        assert "reconnecting" not in drawn_text(app).lower()
