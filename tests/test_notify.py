"""Notifications, delivered through apprise's JSON webhook to a real listener on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reviewer.models import NotifyRule, QueueSettings
from reviewer.storage import SqlQueue

from factories import HOSTILE, action, output

pytest.importorskip("apprise")


class Listener:
    """An HTTP listener on loopback: records each POST body; fails the first `fail` of them
    with a 500; sleeps `hang_s` before answering."""

    def __init__(self, fail: int = 0, hang_s: float = 0.0) -> None:
        self.bodies: list[dict] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.attempts += 1
                if hang_s:
                    time.sleep(hang_s)
                if outer.attempts <= fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, n: int, within_s: float = 20.0) -> list[dict]:
        end = time.monotonic() + within_s
        while len(self.bodies) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'n.db'}")
    yield queue
    queue.close()


def notify(q, queue: str, url: str, **rule) -> None:
    q.set_queue_settings(queue, QueueSettings(notify=[NotifyRule(to=url, **rule)]), actor="admin")


def test_a_high_risk_action_is_announced_with_inert_text_and_nothing_else_is(q):
    hook = Listener()
    notify(q, "payments", hook.url)
    hostile = "\n".join(HOSTILE)
    q.enqueue_many([
        action("wire", queue="payments", risk="critical",
               action={"tool": "transfer_funds", "arguments": {"note": hostile}, "rationale": hostile}),
        action("low", queue="payments", risk="low"),  # below the rule's min_risk
        output(1, queue="payments"),  # not an action
        action("other", queue="elsewhere", risk="critical"),  # another queue, no rules
    ])
    [body] = hook.wait(1)
    time.sleep(0.5)
    assert len(hook.bodies) == 1
    text = body["title"] + " " + body["message"]
    assert "act-wire" in text and "transfer_funds" in text and "critical" in text and "deadline" in text
    for bad in ("\x1b", "[bold]", "<", ">", "*", "`", "\u202e"):
        assert bad not in text
    hook.close()


def test_a_failing_listener_gets_the_notification_once_after_retries_and_stats_count_it(q):
    hook = Listener(fail=3)
    notify(q, "payments", hook.url)
    q.enqueue(action(1, queue="payments"))
    assert len(hook.wait(1)) == 1 and hook.attempts == 4
    end = time.monotonic() + 5
    while q.stats()["notify_sent"] == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert (q.stats()["notify_sent"], q.stats()["notify_failed"]) == (1, 0)
    hook.close()


def test_a_hanging_listener_does_not_slow_an_enqueue(q):
    hook = Listener(hang_s=5)
    notify(q, "payments", hook.url)
    q.enqueue(action(0, queue="payments"))  # warm: the notifier thread and apprise are loaded
    took = []
    for i in range(1, 6):
        t = time.perf_counter()
        q.enqueue(action(i, queue="payments"))
        took.append(time.perf_counter() - t)
    assert max(took) < 0.5, took  # the listener holds each message 5 s
    hook.close()


def test_a_reminder_goes_out_at_half_the_deadline_if_nobody_claimed_it(q):
    hook = Listener()
    notify(q, "payments", hook.url)
    q.enqueue_many([action("a", queue="payments", timeout_s=2), action("b", queue="payments", timeout_s=2)])
    q.claim("act-b", "alice")  # claimed: no reminder
    hook.wait(3, within_s=6)
    time.sleep(1.5)
    reminders = [b for b in hook.bodies if "Still waiting" in b["title"]]
    assert len(reminders) == 1 and "act-a" in reminders[0]["message"]
    hook.close()


def test_notification_targets_are_set_on_the_cli_and_never_shown_whole(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from reviewer.cli import cli

    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "c.db"))
    secret = "slack://T0000/B0000/XXXXSECRETXXXX/#ops"
    r = CliRunner().invoke(cli, ["queue", "set", "payments", "--notify", secret, "--notify-min-risk", "critical"])
    assert r.exit_code == 0, r.output
    assert "critical" in r.output and "slack://" in r.output and "SECRET" not in r.output
    shown = CliRunner().invoke(cli, ["queue", "show", "--json"]).output
    assert "SECRET" not in shown
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'c.db'}")
    assert q.queue_settings("payments").notify[0].to == secret  # kept whole, for the sender
    q.enqueue(action("p", queue="payments", risk="critical"))
    claim = q.claim("act-p", "alice")
    assert "SECRET" not in claim.settings.model_dump_json()  # a reviewer's claim never carries it
    r = CliRunner().invoke(cli, ["queue", "set", "payments", "--no-notify"])
    assert "notify: (nobody)" in r.output
