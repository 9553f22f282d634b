"""Desktop notifications, end to end: the app's notification goes through desktop-notifier and
D-Bus to a notification server, here a stand-in on a private session bus (dbus-daemon)."""

# The stand-in's annotations are D-Bus signatures ("s", "as", "a{sv}"), as dbus-fast reads them.
# ruff: noqa: UP037, F722, F821, N802

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading

import pytest
from tuikit import SIZE, act, app_for, make_queue, open_item, settle

DBUS = shutil.which("dbus-daemon")
pytestmark = pytest.mark.skipif(DBUS is None, reason="needs dbus-daemon")


class NotificationServer(threading.Thread):
    """org.freedesktop.Notifications on its own bus, recording (app, summary, body)."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address, self.got = address, []
        self.ready, self.loop = threading.Event(), asyncio.new_event_loop()

    def run(self) -> None:
        from dbus_fast.aio import MessageBus
        from dbus_fast.service import ServiceInterface, method

        got = self.got

        class Notifications(ServiceInterface):
            def __init__(self) -> None:
                super().__init__("org.freedesktop.Notifications")

            @method()
            def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s",
                       actions: "as", hints: "a{sv}", timeout: "i") -> "u":
                got.append((app, summary, body))
                return len(got)

            @method()
            def GetCapabilities(self) -> "as":
                return ["body", "actions"]

            @method()
            def GetServerInformation(self) -> "ssss":
                return ["stand-in", "tests", "1", "1.2"]

        async def serve() -> None:
            bus = await MessageBus(bus_address=self.address).connect()
            bus.export("/org/freedesktop/Notifications", Notifications())
            await bus.request_name("org.freedesktop.Notifications")
            self.ready.set()
            await asyncio.Event().wait()

        self.loop.run_until_complete(serve())


@pytest.fixture
def session_bus(monkeypatch):
    daemon = subprocess.Popen([DBUS, "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE, text=True)
    address = daemon.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    server = NotificationServer(address)
    server.start()
    assert server.ready.wait(10)
    yield server
    daemon.terminate()
    daemon.wait(5)


async def test_a_critical_action_arriving_while_reviewing_shows_a_plain_desktop_notification(tmp_path, session_bus):
    queue = make_queue(tmp_path)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        app.watch_urgent()  # the first look learns what is there
        await settle(pilot)
        queue.enqueue(act("wire-9", "<b>transfer</b>&funds", {"amount": 48500}, risk="critical", queue="payments"))
        app.watch_urgent()
        await settle(pilot, lambda: session_bus.got)
    [(name, summary, body)] = session_bus.got
    assert name == "reviewer" and summary == "reviewer: new action"
    assert body == "CRITICAL action waiting: btransfer/bfunds in payments"  # no markup reaches the desktop
    queue.close()
