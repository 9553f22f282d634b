"""Policy files: globs, conditions, first match wins, deny, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.errors import Invalid
from reviewer.policy import load_policy, parse_policy

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "policy.toml"


@pytest.fixture
def policy():
    return load_policy(EXAMPLE)


@pytest.mark.parametrize(("tool", "args", "action", "rule"), [
    ("issue_refund", {"order_id": "55120", "amount": 20}, "allow", "small refunds"),
    ("issue_refund", {"order_id": "55120", "amount": 100}, "allow", "small refunds"),
    ("issue_refund", {"order_id": "55120", "amount": 100.5}, "review", None),
    ("issue_refund", {}, "review", None),  # outside the schema, and the conditions are unknown
    ("issue_refund", {"order_id": "55120", "amount": "20"}, "review", None),  # a string is not a number
    ("run_sql", {"statement": "SELECT id FROM orders WHERE total > 10"}, "allow", "read-only sql"),
    ("run_sql", {"statement": "  DELETE FROM orders"}, "review", "other sql"),
    ("run_sql", {"statement": "drop table x"}, "review", "other sql"),
    ("shell", {"cwd": "/srv/prod/api"}, "deny", "no prod shell"),
    ("shell_exec", {"cwd": "/srv/prod"}, "deny", "no prod shell"),  # glob
    ("shell", {"cwd": "/home/me"}, "review", None),
    ("transfer_funds", {"amount": 48500.0}, "review", "large transfers"),
    ("send_email", {"to": ["a@b.example"]}, "review", None),
])
def test_matching(policy, tool, args, action, rule):
    v = policy.evaluate(tool, args)
    assert (v.action, v.rule) == (action, rule)


def test_first_match_wins_and_carries_risk_and_timeout():
    p = parse_policy({"rule": [
        {"name": "a", "tool": "x*", "action": "deny"},
        {"name": "b", "tool": "xy", "action": "allow"},
        {"name": "c", "tool": "z", "when": ["n in [1, 2]", "mode != 'dry'"], "action": "review",
         "risk": "critical", "timeout_s": 60},
    ]})
    assert p.evaluate("xy", {}).rule == "a"
    v = p.evaluate("z", {"n": 2, "mode": "live"})
    assert (v.rule, v.risk, v.timeout_s) == ("c", "critical", 60.0)
    assert p.evaluate("z", {"n": 3, "mode": "live"}).rule is None
    assert p.evaluate("z", {"n": 1, "mode": "dry"}).rule is None


def test_nested_fields_and_exists():
    p = parse_policy({"rule": [{"name": "n", "tool": "*", "when": ["payment.amount >= 10", "memo exists"],
                                "action": "deny"}]})
    assert p.evaluate("t", {"payment": {"amount": 10}, "memo": ""}).action == "deny"
    assert p.evaluate("t", {"payment": {"amount": 10}}).action == "review"


@pytest.mark.parametrize(("rule", "message"), [
    ({"tool": "x", "action": "maybe"}, "action must be allow (or auto-approve), review or deny"),
    ({"tool": "x", "action": "allow", "when": ["amount >"]}, "missing the value"),
    ({"tool": "x", "action": "allow", "when": ["amount is big"]}, "cannot read condition"),
    ({"tool": "x", "action": "allow", "when": ["s ~ '('"]}, "bad regular expression"),
    ({"tool": "x", "action": "allow", "when": ["s ~ '(a)\\\\1'"]}, "no backreferences"),
    ({"tool": "x", "action": "allow", "when": ["s in 'abc'"]}, "needs a list"),
    ({"tool": "x", "action": "allow", "risk": "huge"}, "risk must be"),
    ({"tool": "x", "action": "review", "timeout_s": -1}, "timeout_s must be a positive"),
    ({"tool": "x", "action": "review", "risk": "critical", "on_timeout": "approve"}, "refused for critical"),
    ({"tool": "x", "action": "review", "colour": "red"}, "unknown key"),
])
def test_bad_rules_are_reported_with_their_number(rule, message):
    with pytest.raises(Invalid) as e:
        parse_policy({"rule": [{"name": "ok", "tool": "a", "action": "allow"}, rule]})
    assert "rule 2" in str(e.value) and message in str(e.value)


def test_cli_check_and_test(tmp_path):
    r = CliRunner().invoke(cli, ["policy", "check", str(EXAMPLE)])
    assert r.exit_code == 0 and "ok: 5 rules" in r.output and "warning" not in r.output
    r = CliRunner().invoke(cli, ["policy", "test", str(EXAMPLE), "--tool", "run_sql",
                                 "--arguments", '{"statement": "TRUNCATE t"}'])
    assert r.output.splitlines()[0] == "review: rule 'other sql' risk=critical timeout_s=600.0"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\ntool = "x"\naction = "yes"\n')
    r = CliRunner().invoke(cli, ["policy", "check", str(bad)])
    assert r.exit_code == 1 and "rule 1" in r.output and "Traceback" not in r.output
    bad.write_text("[[rule]\n")
    r = CliRunner().invoke(cli, ["policy", "check", str(bad)])
    assert r.exit_code == 1 and "not valid TOML" in r.output
