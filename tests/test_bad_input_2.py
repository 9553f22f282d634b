"""Bad input, round two: the gateway refuses before it reads (no token, a body too large, a
list too long, a connection that sends nothing), and odd values are one-line errors at the
gateway, at `reviewer ingest` (with the line number) and on the command line."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.models import MAX_IDS, DecisionIn
from reviewer.server.main import server_options
from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from factories import output
from gateway import serve

LIMIT = 64 * 1024  # the test gateways' body limit


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    yield queue
    queue.close()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _status(s: socket.socket) -> tuple[int, bytes]:
    """The status of the answer on `s`, and what came with it, read until the server closes."""
    got = b""
    while b"\r\n\r\n" not in got or len(got) < 64:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return int(got.split(b" ", 2)[1]), got


def _head(path: str, secret: str | None, extra: str) -> bytes:
    token = f"Authorization: Bearer {secret}\r\n" if secret else ""
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{token}{extra}\r\n").encode()


# -- refused before the body is read ------------------------------------------------------------------

def test_a_body_without_a_token_is_refused_before_it_is_read(q):
    with serve(q, sweep_s=0, max_body=LIMIT) as url:
        s = _connect(url)
        # announces 100 MB and sends a sliver: an answer now means the rest was never awaited
        s.sendall(_head("/v1/items/batch", None, "Content-Length: 100000000\r\n") + b'{"items": [' + b" " * 1000)
        status, got = _status(s)
        s.close()
    assert status == 401 and b"no token" in got


def test_a_body_over_the_limit_is_refused_up_front_and_as_it_streams(q):
    secret, _ = Tokens(q.engine).create("agent", "agent")
    with serve(q, sweep_s=0, max_body=LIMIT) as url:
        s = _connect(url)
        s.sendall(_head("/v1/items/batch", secret, f"Content-Length: {100 * LIMIT}\r\n"))
        assert _status(s)[0] == 413
        s.close()
        # chunked, no length: refused once the bytes counted pass the limit, the body unfinished
        s = _connect(url)
        s.sendall(_head("/v1/items/batch", secret, "Transfer-Encoding: chunked\r\n"))
        chunk = b" " * 8192
        # just past the limit and no further: bytes the server never reads would reset the
        # connection before its answer is read
        for _ in range(LIMIT // len(chunk) + 1):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, got = _status(s)
        s.close()
        # a body within the limit still goes in
        r = httpx.post(f"{url}/v1/items", json=output(1).model_dump(mode="json"),
                       headers={"Authorization": f"Bearer {secret}"})
    assert status == 413 and b"larger than" in got
    assert r.status_code == 200


def test_every_list_a_request_carries_is_bounded(q):
    secret, _ = Tokens(q.engine).create("alice", "reviewer")
    many = [f"id-{i}" for i in range(MAX_IDS + 1)]
    with serve(q, sweep_s=0) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as http:
        bodies = [("/v1/claims/next", {"reviewer": "alice", "where": {"ids": many, "order": "triage"}}),
                  ("/v1/claims/next", {"reviewer": "alice", "where": {"ids": many}}),
                  ("/v1/items/list", {"filter": {"ids": many}}),
                  ("/v1/items/count", {"filter": {"status": ["pending"] * (MAX_IDS + 1)}})]
        answers = [http.post(path, json=body) for path, body in bodies]
        item = {"kind": "output", "output": "x", "tags": ["t"] * (MAX_IDS + 1)}
        tokens, _ = Tokens(q.engine).create("agent", "agent")
        answers.append(http.post("/v1/items", json=item, headers={"Authorization": f"Bearer {tokens}"}))
    for r in answers:
        assert r.status_code == 422, r.text
        assert "at most 1000" in r.json()["error"]


@contextmanager
def _served_as_reviewer_serve(q: SqlQueue, timeout_s: float) -> Iterator[str]:
    """The gateway under uvicorn with the options `reviewer serve` uses, a short request deadline."""
    options = server_options()
    options["http"] = type("Quick", (options["http"],), {"timeout_s": timeout_s})
    with serve(q, uvicorn_options=options, sweep_s=0) as url:
        yield url


def test_connections_that_send_nothing_or_trickle_are_closed(q):
    with _served_as_reviewer_serve(q, timeout_s=0.5) as url:
        silent = _connect(url)
        trickle = _connect(url)
        trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed = False
        for _ in range(50):  # a byte every 0.1 s, never finishing its headers, for up to 5 s
            try:
                trickle.sendall(b"X")
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        assert closed
        assert silent.recv(1) == b""  # closed by the server (waiting longer would raise a timeout)
        # a request that arrives in time is answered, and a long poll is not cut short
        assert httpx.get(f"{url}/healthz").status_code == 200
        alice, _ = Tokens(q.engine).create("alice", "reviewer")
        polled = httpx.get(f"{url}/v1/changes", params={"since": 0, "wait": 1.5},
                           headers={"Authorization": f"Bearer {alice}"}, timeout=10)
        assert polled.status_code == 200
        silent.close()
        trickle.close()


# -- one-line errors -------------------------------------------------------------------------------

FAR = "9999-12-31T23:59:59-14:00"  # the year 10000 in UTC


def test_odd_values_are_one_line_errors_at_the_gateway(q):
    agent, _ = Tokens(q.engine).create("agent", "agent")
    alice, _ = Tokens(q.engine).create("alice", "reviewer")
    action = {"kind": "action", "id": "a1", "action": {"tool": "t"}}
    with serve(q, sweep_s=0) as url:
        sent = [
            httpx.post(f"{url}/v1/items", json={"kind": "output", "output": "x", "created_at": FAR},
                       headers={"Authorization": f"Bearer {agent}"}),
            httpx.post(f"{url}/v1/items", json={**action, "expires_at": "9999-01-01T00:00:00Z"},
                       headers={"Authorization": f"Bearer {agent}"}),
            httpx.post(f"{url}/v1/items/list", json={"offset": 2**63}, headers={"Authorization": f"Bearer {alice}"}),
            httpx.post(f"{url}/v1/items/list", json={"filter": {"since": FAR}},
                       headers={"Authorization": f"Bearer {alice}"}),
        ]
        nothing_in = httpx.post(f"{url}/v1/items/count", json={}, headers={"Authorization": f"Bearer {alice}"})
    for r in sent:
        assert r.status_code == 422, r.text
        problem = r.json()
        assert "\n" not in problem["error"] and problem["type"] == "Invalid"
    assert "times the queue can store" in sent[0].json()["error"]
    assert "more than 30 days away" in sent[1].json()["error"]
    assert nothing_in.json() == 0


@pytest.mark.postgres
def test_a_nul_character_is_a_clear_refusal_on_postgresql_not_an_unreachable_database(pg_url):
    q = SqlQueue.open(pg_url)
    q.enqueue(output(1))
    alice, _ = Tokens(q.engine).create("alice", "reviewer")
    with serve(q, sweep_s=0) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {alice}"}) as http:
        decided = http.post("/v1/items/out-1/decisions",
                            json={"decision": {"verdict": "approve", "reviewer": "alice", "comment": "ok\u0000"}})
        path = http.get("/v1/items/out%001")
        fine = http.post("/v1/items/out-1/decisions",
                         json={"decision": DecisionIn(verdict="approve", reviewer="alice").model_dump(mode="json")})
    q.close()
    assert decided.status_code == 422 and "NUL" in decided.json()["error"], decided.text
    assert path.status_code == 422 and "NUL" in path.json()["error"], path.text
    assert fine.status_code == 200


def test_ingest_reports_an_impossible_time_on_its_line_and_takes_the_good_ones(tmp_path):
    lines = [json.dumps({"kind": "output", "output": "first", "id": "good-1"}),
             json.dumps({"kind": "output", "output": "x", "created_at": FAR}),
             json.dumps({"kind": "action", "action": {"tool": "t"}, "expires_at": "0001-01-01T00:00:00+14:00"}),
             json.dumps({"kind": "output", "output": "last", "id": "good-2"})]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{tmp_path / 'q.db'}"
    r = CliRunner().invoke(cli, ["--db", db, "ingest", str(src)])
    assert r.exit_code == 6 and isinstance(r.exception, SystemExit), r.output
    assert "line 2: created_at: is outside the times the queue can store" in r.output
    assert "line 3: expires_at: is outside the times the queue can store" in r.output
    assert "inserted 2," in r.output


@pytest.mark.parametrize("command", [
    ["flag", "--output", "x", "--reason", "judge\x07bell"],
    ["flag", "--output", "x", "--reason", "ok", "--tag", "rlo\u202etag"],
    ["decide", "out-1", "--reject", "--reason", "hallu\x1bcination"],
])
def test_a_name_with_control_characters_is_a_usage_error_on_the_cli(tmp_path, command):
    db = f"sqlite:///{tmp_path / 'q.db'}"
    queue = SqlQueue.open(db)
    queue.enqueue(output(1))
    queue.close()
    r = CliRunner().invoke(cli, ["--db", db, *command])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--" in r.output and "control or bidi characters" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_ingest_refuses_a_deadline_beyond_30_days_on_its_line_and_takes_the_rest(tmp_path):
    """As the gateway does: an action whose expires_at is years away is one error line."""
    from click.testing import CliRunner

    from reviewer.cli import cli
    from reviewer.storage import SqlQueue

    far = {"kind": "action", "id": "far-1", "action": {"tool": "t", "arguments": {}},
           "expires_at": "9999-01-01T00:00:00+00:00"}
    ok = {"kind": "action", "id": "ok-1", "action": {"tool": "t", "arguments": {}}}
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(ok) + "\n" + json.dumps(far) + "\n")
    db = f"sqlite:///{tmp_path / 'q.db'}"
    r = CliRunner().invoke(cli, ["--db", db, "ingest", str(path)])
    assert r.exit_code == 6 and "line 2" in r.output and "30 days" in r.output, r.output
    q = SqlQueue.open(db)
    assert [s.id for s in q.list_items()] == ["ok-1"]
    q.close()
