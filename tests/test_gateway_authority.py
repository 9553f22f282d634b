"""The gateway is the authority: its policy over an agent's risk and timeout approval, a
queue-scoped token over every route that names items, and a suggestion's poster over the
model it claims. Each runs against a live gateway with real tokens."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute

from reviewer.models import BatchIn, DecisionIn
from reviewer.policy import parse_policy
from reviewer.server.app import create_app
from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from factories import action, output
from gateway import serve


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    yield queue
    queue.close()


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# -- the server's policy over the agent's fields -----------------------------------------------

REVIEW_REFUNDS = {"rule": [{"name": "refunds are reviewed", "tool": "issue_refund", "action": "review"}]}


def _ask(url: str, secret: str, item_id: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": "action", "id": item_id, "queue": "agents",
            "action": {"tool": "issue_refund", "arguments": {"order_id": "1", "amount": 10}}, **fields}
    r = httpx.post(f"{url}/v1/items", json=body, headers=auth(secret))
    assert r.status_code == 200, r.text
    r = httpx.get(f"{url}/v1/items/{item_id}/decision", params={"wait": 10}, headers=auth(secret), timeout=20)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_agent_can_neither_lower_the_servers_risk_nor_approve_itself_on_timeout(q):
    secret, _ = Tokens(q.engine).create("refund-agent", "agent")
    with serve(q, policy=parse_policy(REVIEW_REFUNDS), sweep_s=0.1) as url:
        got = _ask(url, secret, "sneaky", risk="low", on_timeout="approve", timeout_s=1)
    assert got["status"] == "expired"
    assert got["risk"] == "high"  # the rule names no risk: an unrated call is high, whatever the agent says
    assert got["item"]["on_timeout"] == "reject"
    assert [(d["verdict"], d["by"]) for d in got["decisions"]] == [("reject", "system")]


def test_a_timeout_approval_stands_only_where_the_policy_allows_it_and_for_that_risk(q):
    policy = parse_policy({"rule": [{"name": "small refunds wait", "tool": "issue_refund", "action": "review",
                                     "risk": "low", "on_timeout": "approve"}]})
    secret, _ = Tokens(q.engine).create("refund-agent", "agent")
    with serve(q, policy=policy, sweep_s=0.1) as url:
        allowed = _ask(url, secret, "allowed", risk="low", timeout_s=1)
        # the agent raises the risk above what may approve itself: the approval falls
        raised = _ask(url, secret, "raised", risk="critical", timeout_s=1)
    assert (allowed["risk"], allowed["item"]["on_timeout"]) == ("low", "approve")
    assert [d["verdict"] for d in allowed["decisions"]] == ["approve"]
    assert (raised["risk"], raised["item"]["on_timeout"]) == ("critical", "reject")
    assert [d["verdict"] for d in raised["decisions"]] == ["reject"]


# -- queue-scoped tokens on every route ----------------------------------------------------------

SECRET = "OPS-ONLY-7f3a"  # in every ops item's content: it must never come back to these tokens


def _other_queue(q: SqlQueue) -> tuple[str, str]:
    """Items of `payments` (the scoped reviewer's, and the agent's own) and of `ops-agent` (neither's):
    ops-1 claimed by olga, ops-2 pending with a judge's suggestion, ops-3 decided in a bulk
    decision by an `alice` of another token. Returns (olga's lease token, the bulk's id)."""
    q.enqueue_many([output("p1", queue="payments"), action("p2", queue="payments")], actor="pay-agent")
    ops = [action("o1", queue="ops-agent", risk="critical",
                  action={"tool": "restart", "arguments": {"host": SECRET}}, tags=["ops-tag"]),
           output("o2", queue="ops-agent", output=f"the answer {SECRET}", flags=[{"reason": "ops.flag"}]),
           output("o3", queue="ops-agent", output=f"decided {SECRET}")]
    q.enqueue_many(ops, actor="ops-bot")
    lease = q.claim("act-o1", "olga").lease
    from reviewer.models import Suggestion

    q.suggest(Suggestion(item_id="out-o2", model="m", prompt_version="v", verdict="approve", confidence=0.5,
                         rationale=SECRET), actor="judge")
    bulk = q.decide_many(BatchIn(item_ids=["out-o3"], decision=DecisionIn(verdict="approve", reviewer="alice")))
    return lease.token, bulk.batch


def _state(q: SqlQueue) -> list[Any]:
    """Everything about the ops items a route could change."""
    found = q.get_many(["act-o1", "out-o2", "out-o3"])
    return [(x.status, x.claimed_by, x.lease_expires_at, [d.id for d in x.decisions],
             [s.model_dump_json() for s in x.suggestions], len(q.audit(x.id))) for x in found]


def _recipes(lease_token: str, batch: str) -> dict[str, list[dict[str, Any]]]:
    """For each route (by endpoint name): the requests that name ops items wherever the route
    takes an id. A route missing here fails the test: a new route must say how it is scoped."""
    decision = {"verdict": "approve", "reviewer": "alice"}
    lease = {"item_id": "act-o1", "token": lease_token, "reviewer": "alice", "expires_at": "2030-01-01T00:00:00Z"}
    walk = {"ids": ["out-o2", "act-o1"], "order": "triage"}
    ops_filter = {"ids": ["out-o2", "act-o1", "out-o3"]}
    item = {"kind": "output", "id": "out-o2", "queue": "ops-agent", "output": "mine now"}
    sugg = {"item_id": "out-o2", "model": "openai/gpt-4o-mini", "prompt_version": "v", "verdict": "reject",
            "confidence": 1.0}
    return {
        "healthz": [{}], "readyz": [{}], "me": [{}],
        "create_token": [{"json": {"name": "x", "role": "admin"}}], "list_tokens": [{}], "revoke_token": [{}],
        "enqueue": [{"json": item}], "enqueue_many": [{"json": {"items": [item]}}],
        "get_many": [{"json": {"ids": ["out-o2", "act-o1"]}}, {"json": {"ids": ["out-p1", "out-o2"]}}],
        "get": [{}],
        "list_items": [{"json": {"filter": ops_filter}}, {"json": {"filter": {"queue": "ops-agent"}}},
                       {"json": {"filter": ops_filter, "after": "out-o2", "order": "age"}}],
        "count": [{"json": {"filter": ops_filter}}, {"json": {"filter": {"queue": "ops-agent"}}}],
        "search": [{"json": {"query": SECRET}}, {"json": {"query": "out-o2"}},
                   {"json": {"query": SECRET, "filter": {"queue": "ops-agent"}}}],
        "stats": [{}], "facets": [{}], "changes": [{"params": {"since": 0}}, {}],
        "claim_next": [{"json": {"reviewer": "alice", "where": walk}},
                       {"json": {"reviewer": "alice", "where": ops_filter}},
                       {"json": {"reviewer": "alice", "where": {"filter": ops_filter, "order": "age"}}}],
        "claim": [{"json": {"reviewer": "alice", "lease_s": 3600}}],
        "renew": [{"json": {"lease": lease, "lease_s": 3600}}],
        "release": [{"json": {"lease": lease}}],
        "decide": [{"json": {"decision": decision}}],
        "decide_and_next": [{"json": {"decision": decision, "then": walk}, "item": "out-p1"},
                            {"json": {"decision": decision, "then": {"filter": ops_filter}}, "item": "out-p1"},
                            {"json": {"decision": decision}}],
        "decide_by_policy": [{"json": {"verdict": "approve", "rule": "r"}}],
        "undo": [{"json": {"reviewer": "alice"}, "item": "out-o3"}],
        "similar": [{}, {"item": "out-p1"}],
        "suggest": [{"json": sugg}],
        "decide_many": [{"json": {"item_ids": ["out-o2", "out-p1"], "decision": decision}}],
        "undo_batch": [{"json": {"reviewer": "alice"}, "batch": batch}],
        "expire": [{"json": {}}],
        "take_decision": [{}, {"item": "out-o3"}],
        "expire_overdue": [{}],
        "wait_for_decision": [{"params": {"wait": 0}}],
        "decisions_since": [{}], "audit": [{"params": {"item_id": "out-o2"}}],
        "all_queue_settings": [{}], "queue_settings": [{}],
        "set_queue_settings": [{"json": {"settings": {"guidelines": "mine"}}}],
        "get_cursor": [{}], "set_cursor": [{"json": {"position": 1}}],
    }


def _requests(app: Any, lease_token: str, batch: str) -> list[tuple[str, str, dict[str, Any]]]:
    recipes = _recipes(lease_token, batch)
    out = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        assert route.name in recipes, f"route {route.path} ({route.name}) has no scope test: add one"
        for recipe in recipes[route.name]:
            path = route.path.format(item_id=recipe.get("item", "out-o2"), batch=recipe.get("batch", batch),
                                     name="ops-agent", id_or_name="olga")
            kw = {k: v for k, v in recipe.items() if k in ("json", "params")}
            out += [(method, path, kw) for method in sorted(route.methods)]
    return out


@pytest.mark.parametrize("who", ["payments reviewer", "agent"])
def test_no_route_reads_claims_or_changes_another_queues_items(q, who):
    lease_token, batch = _other_queue(q)
    tokens = Tokens(q.engine)
    secret, _ = (tokens.create("alice", "reviewer", ["payments"]) if who == "payments reviewer"
                 else tokens.create("pay-agent", "agent"))
    before = _state(q)
    requests = _requests(create_app(q, sweep_s=0), lease_token, batch)
    answers = {}
    with serve(q, sweep_s=0) as url, httpx.Client(base_url=url, headers=auth(secret), timeout=20) as http:
        for method, path, kw in requests:
            r = http.request(method, path, **kw)
            assert r.status_code < 500, (method, path, r.text)
            assert SECRET not in r.text and "ops-tag" not in r.text and "ops.flag" not in r.text, (method, path, r.text)
            answers[(method, path, json.dumps(kw, sort_keys=True))] = r
    assert _state(q) == before
    counted = [r.json() for (m, p, _), r in answers.items() if p == "/v1/items/count" and r.status_code == 200]
    assert all(n == 0 for n in counted)
    if who == "payments reviewer":
        stats = next(r.json() for (m, p, _), r in answers.items() if p == "/v1/stats")
        assert stats["total"] == 2 and stats["decided"] == 0 and stats["claimed"] == 0
        facets = next(r.json() for (m, p, _), r in answers.items() if p == "/v1/facets")
        assert facets["queues"] == ["payments"]
    # the real reviewer still holds her lease and decides
    assert q.get("act-o1").claimed_by == "olga"


# -- who posted a suggestion ------------------------------------------------------------------------

def test_a_suggestion_names_its_poster_and_never_replaces_anothers(q, tmp_path):
    from reviewer.cli import cli
    from reviewer.screens import panes

    q.enqueue(output(1))
    tokens = Tokens(q.engine)
    judge, _ = tokens.create("judge-runner", "reviewer")
    mallory, _ = tokens.create("mallory", "reviewer")
    real = {"item_id": "out-1", "model": "openai/gpt-4o-mini", "prompt_version": "judge-v1", "verdict": "reject",
            "reasons": ["hallucination"], "confidence": 0.9, "rationale": "the figure is invented"}
    forged = {**real, "verdict": "approve", "reasons": [], "confidence": 1.0, "rationale": "all fine", "by": "judge"}
    with serve(q, sweep_s=0) as url:
        assert httpx.post(f"{url}/v1/items/out-1/suggestions", json=real, headers=auth(judge)).status_code == 200
        r = httpx.post(f"{url}/v1/items/out-1/suggestions", json=forged, headers=auth(mallory))
        assert r.status_code == 409 and "judge-runner" in r.json()["error"]
        r = httpx.post(f"{url}/v1/items/out-1/suggestions", json={**forged, "prompt_version": "v2"},
                       headers=auth(mallory))
        assert r.status_code == 200 and r.json()["by"] == "mallory"  # the token's name, not the one sent
        # the judge's own runner still replaces its own
        again = {**real, "confidence": 0.8}
        assert httpx.post(f"{url}/v1/items/out-1/suggestions", json=again, headers=auth(judge)).status_code == 200
    got = q.get("out-1")
    assert [(s.prompt_version, s.by, s.verdict) for s in got.suggestions] == [
        ("v2", "mallory", "approve"), ("judge-v1", "judge-runner", "reject")]
    shown = CliRunner().invoke(cli, ["--db", str(q.engine.url), "show", "out-1"]).output
    assert "posted by mallory" in shown and "posted by judge-runner" in shown
    latest_first = got.model_copy(update={"suggestions": got.suggestions[::-1]})
    assert "posted by mallory" in panes.suggestion(latest_first, None).plain
