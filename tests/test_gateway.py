"""The team gateway: tokens, roles and identity enforced by the server, the gate over HTTP, and
a gateway that restarts while a gate waits. The protocol itself is the contract suite's
(test_queue_contract.py runs against HttpQueue too)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reviewer.client import HttpQueue
from reviewer.errors import Forbidden, StorageError, Unauthorized
from reviewer.gate import Gate
from reviewer.models import DecisionIn, ItemFilter
from reviewer.policy import parse_policy
from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from factories import action, output
from gateway import serve

ROLES = ("agent", "reviewer", "admin")


def policy(text: str):  # type: ignore[no-untyped-def]
    import tomllib

    return parse_policy(tomllib.loads(text))


@pytest.fixture(params=["sqlite", "postgres"])
def backing(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlQueue]:
    url = f"sqlite:///{tmp_path / 'gw.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    q = SqlQueue.open(url)
    yield q
    q.close()


@pytest.fixture
def team(backing: SqlQueue) -> Iterator[dict[str, Any]]:
    """A served queue with one token per role, a queue-limited reviewer, a second agent and a
    revoked token; an output in `finchat` and an action in `payments`, both from agent `bot`."""
    t = Tokens(backing.engine)
    tok = {
        "admin": t.create("root", "admin")[0],
        "reviewer": t.create("alice", "reviewer")[0],
        "agent": t.create("bot", "agent")[0],
        "payments-reviewer": t.create("carol", "reviewer", ["payments"])[0],
        "other-agent": t.create("other-bot", "agent")[0],
        "revoked": t.create("mallory", "reviewer")[0],
    }
    t.revoke("mallory")
    backing.enqueue(output(1, queue="finchat"), actor="bot")
    backing.enqueue(action(1, queue="payments"), actor="bot")
    with serve(backing, sweep_s=0.2) as url:
        yield {"url": url, "tokens": tok, "names": {"admin": "root", "reviewer": "alice", "agent": "bot"},
               "queue": backing}


def call(url: str, token: str | None, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, url + path, json=body, headers=headers, timeout=30)


LEASE = {"item_id": "out-1", "token": "nope", "reviewer": "{me}", "expires_at": "2030-01-01T00:00:00Z"}
OUT = {"kind": "output", "id": "new-1", "queue": "finchat", "output": "hello"}
# (method, path, body with {me} for the caller's name, roles allowed)
ENDPOINTS: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("GET", "/v1/me", None, ROLES),
    ("POST", "/v1/items", OUT, ("agent", "admin")),
    ("POST", "/v1/items/batch", {"items": [OUT]}, ("agent", "admin")),
    ("GET", "/v1/items/out-1", None, ROLES),
    ("POST", "/v1/items/list", {}, ("reviewer", "admin")),
    ("POST", "/v1/items/count", {}, ("reviewer", "admin")),
    ("POST", "/v1/items/search", {"query": "answer"}, ("reviewer", "admin")),
    ("GET", "/v1/stats", None, ("reviewer", "admin")),
    ("GET", "/v1/facets", None, ("reviewer", "admin")),
    ("GET", "/v1/changes", None, ("reviewer", "admin")),
    ("POST", "/v1/claims/next", {"reviewer": "{me}", "where": {"queue": "nowhere"}}, ("reviewer", "admin")),
    ("POST", "/v1/items/out-1/claim", {"reviewer": "{me}"}, ("reviewer", "admin")),
    ("POST", "/v1/leases/renew", {"lease": LEASE}, ("reviewer", "admin")),
    ("POST", "/v1/leases/release", {"lease": LEASE}, ("reviewer", "admin")),
    ("POST", "/v1/items/out-1/decisions", {"decision": {"verdict": "reject", "reviewer": "{me}"},
                                           "lease": LEASE}, ("reviewer", "admin")),
    ("POST", "/v1/items/out-1/decide-and-next", {"decision": {"verdict": "reject", "reviewer": "{me}"},
                                                 "lease": LEASE}, ("reviewer", "admin")),
    ("POST", "/v1/items/act-1/policy-decision", {"verdict": "reject", "rule": "x"}, ("admin",)),
    ("POST", "/v1/items/out-1/undo", {"reviewer": "{me}"}, ("reviewer", "admin")),
    ("POST", "/v1/items/act-1/expire", {"comment": "test"}, ("agent", "admin")),
    ("POST", "/v1/expire-overdue", None, ("admin",)),
    ("GET", "/v1/items/out-1/decision?wait=0", None, ROLES),
    ("GET", "/v1/decisions", None, ("admin",)),
    ("GET", "/v1/audit", None, ("admin",)),
    ("GET", "/v1/queues", None, ROLES),
    ("GET", "/v1/queues/finchat", None, ROLES),
    ("PUT", "/v1/queues/finchat", {"settings": {"guidelines": "Be exact."}}, ("admin",)),
    ("GET", "/v1/cursors/golden", None, ("admin",)),
    ("PUT", "/v1/cursors/golden", {"position": 0}, ("admin",)),
    ("POST", "/v1/tokens", {"name": "dave", "role": "reviewer"}, ("admin",)),
    ("GET", "/v1/tokens", None, ("admin",)),
    ("DELETE", "/v1/tokens/nobody", None, ("admin",)),
]


def _body(body: Any, me: str) -> Any:
    return None if body is None else json.loads(json.dumps(body).replace("{me}", me))


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ENDPOINTS])
def test_authorization_matrix(team, method, path, body, allowed):
    url, tok, names = team["url"], team["tokens"], team["names"]
    for token in (None, "rvw_bogus_token", tok["revoked"]):
        r = call(url, token, method, path, _body(body, "mallory"))
        assert r.status_code == 401, (token, r.text)
        assert r.json()["type"] == "Unauthorized" and r.headers["www-authenticate"] == "Bearer"
    for role in ROLES:
        r = call(url, tok[role], method, path, _body(body, names[role]))
        if role in allowed:
            assert r.status_code not in (401, 403), (role, r.text)
            assert r.status_code < 500, r.text
        else:
            assert r.status_code == 403, (role, r.text)
            assert set(r.json()) == {"error", "hint", "type"} and r.json()["type"] == "Forbidden"


def test_tokens_are_kept_hashed_and_never_shown_again(team):
    secret = team["tokens"]["reviewer"]
    with team["queue"].engine.connect() as conn:
        dump = "\n".join(str(tuple(r)) for r in conn.exec_driver_sql("SELECT * FROM tokens"))
    assert secret not in dump and secret.split("_")[-1] not in dump
    listed = json.dumps(Tokens(team["queue"].engine).list(), default=str)
    assert secret not in listed


def test_another_queue_or_another_agent_is_refused(team):
    url, tok = team["url"], team["tokens"]
    carol = tok["payments-reviewer"]
    assert call(url, carol, "GET", "/v1/items/out-1").status_code == 403  # finchat
    assert call(url, carol, "GET", "/v1/items/act-1").status_code == 200  # payments
    assert call(url, carol, "POST", "/v1/items/out-1/claim", {"reviewer": "carol"}).status_code == 403
    assert call(url, carol, "POST", "/v1/items/list", {"filter": {"queue": "finchat"}}).status_code == 403
    listed = call(url, carol, "POST", "/v1/items/list", {}).json()  # narrowed to its one queue
    assert {r["queue"] for r in listed} == {"payments"}
    assert call(url, tok["other-agent"], "GET", "/v1/items/out-1").status_code == 403
    assert call(url, tok["agent"], "GET", "/v1/items/out-1").status_code == 200


def test_identity_comes_from_the_token(team):
    url, tok = team["url"], team["tokens"]
    alice = HttpQueue(url, tok["reviewer"])
    with pytest.raises(Forbidden, match="acts as 'alice', not 'bob'"):
        alice.decide("out-1", DecisionIn(verdict="approve", reviewer="bob"))
    with pytest.raises(Forbidden):
        alice.claim_next("root")
    claim = alice.claim_next("alice", ItemFilter(queue="finchat"))
    assert claim is not None and claim.item.id == "out-1"
    d = alice.decide("out-1", DecisionIn(verdict="approve", reviewer="alice"), lease=claim.lease)
    assert d.reviewer == "alice"
    root = HttpQueue(url, tok["admin"])
    with pytest.raises(Forbidden, match="acts as 'root'"):
        root.undo("out-1", "alice")
    assert HttpQueue(url, tok["agent"]).whoami().role == "agent"
    with pytest.raises(Unauthorized, match="no token"):
        HttpQueue(url).stats()


def test_a_reviewer_undoes_only_its_own_decision(team):
    url, tok = team["url"], team["tokens"]
    root, alice = HttpQueue(url, tok["admin"]), HttpQueue(url, tok["reviewer"])
    root.decide("out-1", DecisionIn(verdict="reject", reviewer="root"))
    with pytest.raises(Forbidden, match="root's, not yours"):
        alice.undo("out-1", "alice")
    assert root.undo("out-1", "root").verdict == "revert"


def _gate_in_thread(gate: Gate, box: dict[str, Any], **kw: Any) -> threading.Thread:
    def run() -> None:
        box["d"] = gate.request("issue_refund", {"order_id": "55120", "amount": 1249.0}, risk="high", **kw)

    t = threading.Thread(target=run)
    t.start()
    return t


def _wait_for(pred: Callable[[], Any], timeout: float = 20.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_gate_over_http_is_released_by_a_reviewer_elsewhere(team):
    url, tok = team["url"], team["tokens"]
    box: dict[str, Any] = {}
    # the agent's own policy would allow everything: the gateway's (none: review) applies
    t = _gate_in_thread(Gate(url=url, token=tok["agent"], policy=policy(
        '[[rule]]\nname = "all"\ntool = "*"\naction = "allow"\n')), box, timeout_s=60)
    alice = HttpQueue(url, tok["reviewer"])
    pending = _wait_for(lambda: alice.list_items(ItemFilter(kind="action", queue="default")))
    claim = alice.claim(pending[0].id, "alice")
    alice.decide(pending[0].id, DecisionIn(verdict="correct", reviewer="alice",
                                           arguments={"order_id": "55120", "amount": 249.0}), lease=claim.lease)
    t.join(20)
    d = box["d"]
    assert d.approved and d.arguments["amount"] == 249.0 and d.reviewer == "alice"


def test_the_gateways_policy_decides_what_it_receives(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'p.db'}")
    agent = Tokens(q.engine).create("bot", "agent")[0]
    deny = policy('[[rule]]\nname = "no refunds"\ntool = "issue_refund"\naction = "deny"\n')
    with serve(q, policy=deny, sweep_s=0) as url:
        d = Gate(url=url, token=agent).request("issue_refund", {"order_id": "1"}, timeout_s=30)
    assert not d.approved and d.decided_by_policy is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_gate_keeps_waiting_through_a_gateway_restart(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'r.db'}")
    agent = Tokens(q.engine).create("bot", "agent")[0]
    port = _free_port()
    box: dict[str, Any] = {}
    with serve(q, sweep_s=0, port=port) as url:
        t = _gate_in_thread(Gate(url=url, token=agent), box, timeout_s=60)
        item = _wait_for(lambda: q.list_items(ItemFilter(kind="action")))[0]
    time.sleep(0.5)  # the gateway is down; the gate retries
    with serve(q, sweep_s=0, port=port):
        q.decide(item.id, DecisionIn(verdict="approve", reviewer="alice"))
        t.join(20)
    assert box["d"].approved, box["d"].feedback


def test_a_gateway_that_stays_away_means_rejected(tmp_path):
    d = Gate(url=f"http://127.0.0.1:{_free_port()}", token="rvw_x").request("deploy", {}, timeout_s=30, wait_s=1)
    assert not d.approved and "unreachable" in (d.error or "")


def test_the_gate_with_a_url_loads_neither_the_orm_nor_the_tui():
    code = ("import sys\nfrom reviewer import Gate\nGate(url='http://127.0.0.1:9', token='t').queue\n"
            "print([m for m in ('sqlalchemy', 'textual', 'litellm', 'fastapi') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_serve_refuses_plain_http_beyond_loopback_and_dev_mode_beyond_it(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reviewer", "--db", str(tmp_path / "s.db"), "serve", *args],
                              capture_output=True, text=True, timeout=60)

    r = run("--host", "0.0.0.0")
    assert r.returncode == 1 and "without TLS" in r.stderr
    r = run("--host", "0.0.0.0", "--dev", "--allow-plain-http")
    assert r.returncode == 1 and "loopback only" in r.stderr


def test_an_unreachable_gateway_is_a_storage_error():
    with pytest.raises(StorageError, match="unreachable"):
        HttpQueue(f"http://127.0.0.1:{_free_port()}", "rvw_x").stats()


async def test_the_tui_reviews_through_a_live_gateway(tmp_path):
    from tuikit import SIZE, clock, make_queue, open_item, settle

    from reviewer.models import QueueSettings
    from reviewer.screens import make_app

    backing = make_queue(tmp_path)
    backing.set_queue_settings("finchat", QueueSettings(guidelines="Quote figures exactly."), actor="root")
    alice_token = Tokens(backing.engine).create("alice", "reviewer")[0]
    with serve(backing, sweep_s=0) as url:
        app = make_app(lambda: HttpQueue(url, alice_token), reviewer="alice", config={}, clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_item(pilot, "fin-1")
            assert screen.settings.guidelines == "Quote figures exactly."  # the queue's, from the gateway
            await pilot.press("a")
            await settle(pilot, lambda: backing.get("fin-1").status == "decided"
                         and screen.item is not None and screen.item.id != "fin-1")
    d = backing.get("fin-1").decisions[-1]
    assert (d.verdict, d.reviewer) == ("approve", "alice")
    backing.close()


def test_two_gateways_on_one_postgres_database_act_as_one(request):
    """A gate waiting on instance A is released by a decision made through instance B."""
    url = request.getfixturevalue("pg_url")
    a, b = SqlQueue.open(url), SqlQueue.open(url)
    t = Tokens(a.engine)
    agent, alice = t.create("bot", "agent")[0], t.create("alice", "reviewer")[0]
    box: dict[str, Any] = {}
    with serve(a, sweep_s=0.5) as url_a, serve(b, sweep_s=0.5) as url_b:
        thread = _gate_in_thread(Gate(url=url_a, token=agent), box, timeout_s=60)
        via_b = HttpQueue(url_b, alice)
        item = _wait_for(lambda: via_b.list_items(ItemFilter(kind="action")))[0]
        started = time.monotonic()
        via_b.decide(item.id, DecisionIn(verdict="approve", reviewer="alice"))
        thread.join(20)
        assert box["d"].approved and box["d"].reviewer == "alice"
        assert time.monotonic() - started < 2  # woken, not polled
    a.close(), b.close()


def test_a_decision_made_while_the_gateway_is_away_is_sent_once_when_it_is_back(tmp_path):
    from reviewer.errors import Offline
    from reviewer.outbox import Outbox

    q = SqlQueue.open(f"sqlite:///{tmp_path / 'o.db'}")
    q.enqueue_many([output(1), output(2)])
    alice_token = Tokens(q.engine).create("alice", "reviewer")[0]
    port = _free_port()
    outbox = Outbox(tmp_path / "outbox.jsonl")
    with serve(q, sweep_s=0, port=port) as url:
        alice = HttpQueue(url, alice_token, outbox=outbox)
        c1 = alice.claim("out-1", "alice")
        c2 = alice.claim("out-2", "alice")
    # the gateway is gone: both decisions are kept
    with pytest.raises(Offline, match="saved"):
        alice.decide("out-1", DecisionIn(verdict="approve", reviewer="alice"), lease=c1.lease)
    with pytest.raises(Offline):
        alice.decide("out-2", DecisionIn(verdict="reject", reviewer="alice"), lease=c2.lease)
    assert len(outbox.saved()) == 2
    assert alice.send_saved() == ([], [])  # still away: nothing lost, nothing sent
    assert len(outbox.saved()) == 2
    q.release(c2.lease)  # meanwhile, out-2 is decided by someone else
    q.decide("out-2", DecisionIn(verdict="approve", reviewer="bob"))
    with serve(q, sweep_s=0, port=port):
        sent, refused = alice.send_saved()
        assert [d.item_id for d in sent] == ["out-1"]
        assert [(i, type(e).__name__) for i, e in refused] == [("out-2", "AlreadyDecided")]
        assert alice.send_saved() == ([], [])
    assert outbox.saved() == []
    feed = q.decisions_since(0)
    assert [(d.item_id, d.reviewer) for d in feed] == [("out-2", "bob"), ("out-1", "alice")]


def test_a_lost_answer_is_not_a_double_decision(tmp_path):
    """The gateway records the decision but its answer never arrives: resending the same
    decision (same id) from the outbox returns the recorded one."""
    from reviewer.outbox import Outbox

    q = SqlQueue.open(f"sqlite:///{tmp_path / 'l.db'}")
    q.enqueue(output(1))
    token = Tokens(q.engine).create("alice", "reviewer")[0]
    outbox = Outbox(tmp_path / "outbox.jsonl")
    d = DecisionIn(verdict="approve", reviewer="alice")
    q.decide("out-1", d)  # recorded, answer lost
    outbox.add("out-1", d, None)
    with serve(q, sweep_s=0) as url:
        sent, refused = HttpQueue(url, token, outbox=outbox).send_saved()
    assert [x.id for x in sent] == [d.id] and refused == []
    assert len(q.decisions_since(0)) == 1


async def test_the_tui_keeps_a_decision_while_the_gateway_is_away(tmp_path):
    from tuikit import SIZE, clock, make_queue, open_item, settle

    from reviewer.outbox import Outbox
    from reviewer.screens import make_app

    backing = make_queue(tmp_path)
    token = Tokens(backing.engine).create("alice", "reviewer")[0]
    port = _free_port()
    outbox = Outbox(tmp_path / "outbox.jsonl")
    server = serve(backing, sweep_s=0, port=port)
    url = server.__enter__()
    app = make_app(lambda: HttpQueue(url, token, outbox=outbox), reviewer="alice", config={}, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        server.__exit__(None, None, None)  # the gateway goes away
        await pilot.press("a")
        await settle(pilot, lambda: screen.offline)
        title = str(screen.query_one("#item-title").render())
        assert "OFFLINE" in title and len(outbox.saved()) == 1
        with serve(backing, sweep_s=0, port=port):
            await settle(pilot, lambda: screen.item is not None and not screen.offline, tries=600)
            assert backing.get("fin-1").status == "decided"
    assert outbox.saved() == []
    assert [d.item_id for d in backing.decisions_since(0)] == ["fin-1"]
    backing.close()


def test_an_admin_manages_tokens_through_the_gateway(team):
    env = {"REVIEWER_GATEWAY": team["url"], "REVIEWER_TOKEN": team["tokens"]["admin"], "PATH": "/usr/bin:/bin"}

    def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, timeout=60,
                              env={**env, **({"REVIEWER_TOKEN": token} if token else {})})

    made = cli("token", "create", "--name", "dave", "--role", "reviewer", "--queues", "payments")
    assert made.returncode == 0, made.stderr
    dave = made.stdout.strip()
    assert HttpQueue(team["url"], dave).whoami().queues == ["payments"]
    assert "dave" in cli("token", "list").stdout
    refused = cli("token", "list", token=team["tokens"]["reviewer"])
    assert refused.returncode == 1 and "needs admin" in refused.stderr
    assert cli("token", "revoke", "dave").returncode == 0
    with pytest.raises(Unauthorized):
        HttpQueue(team["url"], dave).whoami()


def test_the_changes_feed_long_polls(team):
    root = HttpQueue(team["url"], team["tokens"]["admin"])
    token = root.changes().token
    box: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        box["rows"] = root._call("GET", "/v1/changes", params={"since": token, "wait": 10})["rows"]
        box["took"] = time.monotonic() - started

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    root.decide("out-1", DecisionIn(verdict="approve", reviewer="root"))
    th.join(15)
    assert [r["id"] for r in box["rows"]] == ["out-1"] and 0.4 < box["took"] < 5


def test_the_cli_sends_decisions_saved_while_the_gateway_was_away(team, tmp_path):
    from reviewer.outbox import Outbox

    env = {"REVIEWER_GATEWAY": team["url"], "REVIEWER_TOKEN": team["tokens"]["reviewer"], "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    code = "from reviewer.outbox import Outbox; import sys; print(Outbox.for_gateway(sys.argv[1]).path)"
    path = subprocess.run([sys.executable, "-c", code, team["url"]], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    Outbox(Path(path)).add("out-1", DecisionIn(verdict="approve", reviewer="alice"), None)
    r = subprocess.run([sys.executable, "-m", "reviewer", "stats"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "sent 1 decision saved while the gateway was away" in r.stderr, r.stderr
    assert team["queue"].get("out-1").decided_by == "alice"
    assert Outbox(Path(path)).saved() == []
