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


async def test_the_web_server_refuses_other_hosts_other_origins_and_requests_without_its_secret():
    from aiohttp.test_utils import TestClient, TestServer

    from reviewer.web_guard import GuardedServer

    port = _free_port()
    server = GuardedServer("true", host="127.0.0.1", port=port, public_url=None, secret="s3cret")
    async with TestClient(TestServer(await server._make_app(), host="127.0.0.1", port=port)) as client:
        assert (await client.get("/")).status == 403  # no secret
        assert (await client.get("/static/js/textual.js")).status == 403
        assert (await client.get("/?token=wrong")).status == 403
        r = await client.get("/?token=s3cret&fontsize=14", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/?fontsize=14"  # the secret leaves the URL
        cookie = r.cookies[f"reviewer_web_{port}"]
        assert cookie.value == "s3cret" and cookie["httponly"] and cookie["samesite"] == "Strict"
        jar = {"Cookie": f"reviewer_web_{port}=s3cret"}
        page = await client.get("/", headers=jar)
        assert page.status == 200 and page.headers["X-Frame-Options"] == "DENY"
        # DNS rebinding: a page of evil.test resolved to this address carries its own Host
        assert (await client.get("/", headers={**jar, "Host": f"evil.test:{port}"})).status == 403
        ws = {**jar, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        assert (await client.get("/ws", headers=ws)).status == 403  # a script with no Origin
        for origin in (f"http://127.0.0.1:{port + 1}", "null", f"http://evil.test:{port}"):
            assert (await client.get("/ws", headers={**ws, "Origin": origin})).status == 403
        client.session.cookie_jar.clear()  # the jar kept the cookie the redirect set
        no_cookie = {k: v for k, v in ws.items() if k != "Cookie"}
        assert (await client.get("/ws", headers={**no_cookie, "Origin": f"http://127.0.0.1:{port}"})).status == 403


def test_web_against_a_gateway_beyond_loopback_needs_tls_like_serve():
    from click.testing import CliRunner

    from reviewer.cli import cli

    r = CliRunner().invoke(cli, ["--gateway", "https://gw.example.com", "web", "--host", "0.0.0.0"])
    assert r.exit_code != 0 and "without TLS" in r.output
    r = CliRunner().invoke(cli, ["web", "--gateway", "https://gw.example.com", "--host", "0.0.0.0"])
    assert r.exit_code != 0 and "without TLS" in r.output  # the spelling of the README and --help
    r = CliRunner().invoke(cli, ["--gateway", "https://gw.example.com", "web", "--host", "0.0.0.0",
                                 "--ssl-certfile", __file__])
    assert r.exit_code != 0 and "needs both" in r.output


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
