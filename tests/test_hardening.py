"""Regressions of the hardening attacks: each one was found on the landed code, and each
test failed before its fix. Hostile text in every field and every view is in
test_hostile_fields.py; properties in test_properties.py."""

from __future__ import annotations

import json
import math
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer import Gate
from reviewer.cli import cli
from reviewer.errors import Expired, Invalid, StorageError
from reviewer.ingest import parse_lines
from reviewer.models import DecisionIn, ItemFilter, parse_item
from reviewer.policy import load_policy, parse_policy
from reviewer.storage import SqlQueue

from factories import action, output

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "policy.toml"
CONTROLS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]] + \
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def raw_controls(text: str) -> list[str]:
    return [c for c in text if c in CONTROLS]


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    yield queue
    queue.close()


def run(tmp_path: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "q.db"), *args], input=stdin)


# -- 1. key names ------------------------------------------------------------------------


def test_a_hostile_source_key_is_inert_in_show(tmp_path, q):
    q.enqueue(output(1, source={"app": "x", "\x1b[2J\x1b[H\x1b]0;pwned\x07fake": "v"}))
    r = run(tmp_path, "show", "out-1")
    assert r.exit_code == 0 and raw_controls(r.output) == []
    assert "\\x1b]0;pwned\\x07fake=v" in r.output


def test_the_tui_line_filter_draws_a_control_character_as_one_visible_cell():
    from rich.segment import Segment
    from textual.color import Color

    from reviewer.screens.inert import InertFilter

    out = InertFilter().apply([Segment("a\x1b[2Jb\u202ec\x9b")], Color(0, 0, 0))
    assert [s.text for s in out] == ["a␛[2Jb�c�"]


# -- 2. exports over special files -------------------------------------------------------


@pytest.mark.parametrize("target", ["/dev/null", "/dev/full"])
def test_export_refuses_a_special_file(tmp_path, q, target):
    before = os.stat(target)
    r = run(tmp_path, "export", "-o", target)
    assert r.exit_code != 0 and "is not a regular file" in r.output and "Traceback" not in r.output
    after = os.stat(target)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.parametrize("target", ["", "/proc/nope/golden.jsonl"])
def test_export_to_an_impossible_path_is_one_line(tmp_path, q, target):
    r = run(tmp_path, "export", "-o", target)
    assert r.exit_code != 0 and r.output.startswith("error: ") and "Traceback" not in r.output


def test_export_on_a_full_disk_leaves_no_partial_file(tmp_path, q, monkeypatch):
    q.enqueue(output(1))
    q.decide("out-1", DecisionIn(verdict="approve", reviewer="alice"))

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out"
    out.mkdir()
    r = run(tmp_path, "export", "-o", str(out / "golden.jsonl"))
    assert r.exit_code == 1 and "No space left on device" in r.output and "Traceback" not in r.output
    assert list(out.iterdir()) == []


# -- 3. policies fail closed -------------------------------------------------------------

DENY_THEN_ALLOW = parse_policy({"rule": [
    {"name": "no destructive sql", "tool": "run_sql",
     "when": ['statement ~ "(?i)^\\\\s*(DELETE|DROP|TRUNCATE)"'], "action": "deny"},
    {"name": "other sql", "tool": "run_sql", "action": "allow"},
]})


@pytest.mark.parametrize("args", [
    {"statement": ["DROP TABLE users"]},
    {"statement": {"text": "DROP TABLE users"}},
    {"statement": 7},
    {"sql": "DROP TABLE users"},
    {"Statement": "DROP TABLE users"},
    {"statement": "\u200bDROP TABLE users"},
    {"statement": "\uff24\uff32\uff2f\uff30 TABLE users"},  # fullwidth DROP, NFKC folds it
])
def test_a_deny_rule_in_doubt_sends_to_review_instead_of_falling_through(args):
    v = DENY_THEN_ALLOW.evaluate("run_sql", args)
    assert v.action != "allow", v


@pytest.mark.parametrize(("tool", "args"), [
    ("run_sql", {"statement": "/* c */ DROP TABLE users"}),
    ("run_sql", {"statement": "SELECT 1; DROP TABLE users"}),
    ("run_sql", {"statement": "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d"}),
    ("run_sql", {"statement": "\u200bDROP TABLE users"}),
    ("run_sql", {"statement": ["SELECT 1"]}),
    ("issue_refund", {"order_id": "1", "amount": -math.inf}),
    ("issue_refund", {"order_id": "1", "amount": math.nan}),
    ("issue_refund", {"order_id": "1", "amount": -5000}),
    ("issue_refund", {"order_id": "1", "amount": -1e308}),
    ("issue_refund", {"order_id": "1", "amount": 50, "to_account": "attacker"}),
])
def test_the_shipped_allow_list_example_does_not_allow_the_found_attacks(tool, args):
    v = load_policy(EXAMPLE).evaluate(tool, args)
    assert v.action == "review", v


def test_policy_test_explains_every_rule(tmp_path):
    r = CliRunner().invoke(cli, ["policy", "test", str(EXAMPLE), "--tool", "run_sql",
                                 "--arguments", '{"statement": ["DROP TABLE users"]}'])
    assert r.exit_code == 0
    assert "read-only sql (allow): unknown: statement is a list, not a string" in r.output
    assert "-> 3. other sql (review): match" in r.output


def test_policy_check_warns_about_an_unconditional_allow(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[[rule]]\ntool = "run_sql"\nwhen = [\'statement ~ "DROP"\']\naction = "deny"\n'
                 '[[rule]]\ntool = "run_sql"\naction = "allow"\n')
    r = CliRunner().invoke(cli, ["policy", "check", str(f)])
    assert r.exit_code == 0 and "warning: rule 2" in r.output


# -- 4. reserved identities --------------------------------------------------------------


@pytest.mark.parametrize("name", ["system", "SYSTEM ", "policy:small refunds", "Policy:x"])
def test_humans_cannot_take_reserved_names(q, name):
    q.enqueue(action(1))
    with pytest.raises(Invalid, match="reserved"):
        q.decide("act-1", DecisionIn(verdict="approve", reviewer=name))
    with pytest.raises(Invalid, match="reserved"):
        q.claim("act-1", name)
    assert q.get("act-1").status == "pending"


def test_cli_refuses_a_reserved_reviewer_name(tmp_path, q):
    q.enqueue(action(1))
    r = run(tmp_path, "decide", "act-1", "--approve", "--reviewer", "system")
    assert r.exit_code == 1 and "reserved" in r.output


def test_the_gate_reads_who_decided_from_the_record(q):
    policy = parse_policy({"rule": [{"name": "small refunds", "tool": "issue_refund", "action": "allow"}]})
    by_policy = Gate(queue=q, policy=policy).request("issue_refund", {"amount": 1})
    assert (by_policy.approved, by_policy.decided_by_policy) == (True, "small refunds")
    assert q.get(by_policy.item_id).decisions[-1].by == "policy"

    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("d", Gate(queue=q).request("shell", {"c": 1}, timeout_s=30)))
    t.start()
    row = _wait_for_pending(q)
    q.decide(row.id, DecisionIn(verdict="approve", reviewer="policy-team"))
    t.join(30)
    d = out["d"]
    assert (d.approved, d.decided_by_policy, d.reviewer) == (True, None, "policy-team")
    assert "Approved by policy-team" in d.feedback


def _wait_for_pending(q):
    for _ in range(500):
        rows = q.list_items(ItemFilter(kind="action", status=["pending"]))
        if rows:
            return rows[0]
        time.sleep(0.02)
    raise AssertionError("nothing was enqueued")


# -- 5. catastrophic regex ---------------------------------------------------------------


def test_a_nested_quantifier_cannot_stall_the_gate(q):
    policy = parse_policy({"rule": [{"name": "evil", "tool": "t", "when": ["s ~ '^(a+)+$'"], "action": "deny"}]})
    t = time.monotonic()
    d = Gate(queue=q, policy=policy).request("t", {"s": "a" * 5000 + "!"}, timeout_s=0.2)
    assert time.monotonic() - t < 10  # Python's backtracking engine would take centuries
    assert not d.approved and d.error is None and d.reasons == ["timeout"]


# -- 6. huge numbers ---------------------------------------------------------------------


def test_out_of_range_numbers_are_one_line_errors_and_the_rest_goes_in(tmp_path):
    good = json.dumps({"kind": "output", "id": "ok-1", "output": "fine"})
    lines = [
        '{"kind": "output", "output": "x", "priority": 9223372036854775808}',
        '{"kind": "output", "output": "x", "priority": 1000000000000000000000000000000}',
        '{"kind": "action", "action": {"tool": "t"}, "timeout_s": 1e308}',
        '{"kind": "action", "action": {"tool": "t"}, "timeout_s": "inf"}',
        '{"kind": "action", "action": {"tool": "t"}, "timeout_s": Infinity}',
        '{"kind": "output", "output": "x", "flags": [{"reason": "r", "score": NaN}]}',
        good,
    ]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n")
    r = run(tmp_path, "ingest", str(f))
    assert r.exit_code == 6 and "Traceback" not in r.output
    assert "inserted 1, unchanged 0, conflicts 0, invalid 6" in r.output
    for n in range(1, 7):
        assert f"line {n}: " in r.output
    assert run(tmp_path, "show", "ok-1").exit_code == 0


# -- 7. nesting too deep -----------------------------------------------------------------


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"k": value}
    return value


def test_arguments_too_deep_to_show_are_refused_at_enqueue(q):
    d = Gate(queue=q).request("t", _nested(250), timeout_s=5)
    assert not d.approved and "nested more than 32 levels" in (d.error or "")
    assert q.count() == 0
    errors: list = []
    line = json.dumps({"kind": "action", "action": {"tool": "t", "arguments": _nested(40)}})
    assert list(parse_lines([line], errors)) == [] and "nested more than 32 levels" in str(errors[0])


def test_what_is_accepted_can_be_shown_and_decided(tmp_path, q):
    q.enqueue(action(1, action={"tool": "t", "arguments": _nested(29)}))
    assert run(tmp_path, "show", "act-1").exit_code == 0
    assert run(tmp_path, "decide", "act-1", "--approve", "--reviewer", "alice").exit_code == 0


def test_too_many_keys_are_refused():
    with pytest.raises(ValueError, match="entries"):
        parse_item({"kind": "output", "output": "x", "context": {"metadata": {str(i): i for i in range(1001)}}})


# -- 8. C1 and bidi in names, and in JSON output -----------------------------------------


@pytest.mark.parametrize("name", ["a\x9bb", "a\u202eb", "a\u2066b", "\ufeffa"])
def test_names_refuse_c1_and_bidi_controls(name):
    for field in ("id", "queue"):
        with pytest.raises(ValueError, match="control or bidi"):
            parse_item({"kind": "output", "output": "x", field: name})
    with pytest.raises(ValueError, match="control or bidi"):
        parse_item({"kind": "output", "output": "x", "tags": [name]})


def test_json_output_escapes_c1_and_bidi_but_keeps_the_data(tmp_path, q):
    q.enqueue(output(1, output="pay \u202eevil\u202c now \x9b31m \x7f"))
    for args in (["list", "--json"], ["show", "out-1", "--json"]):
        r = run(tmp_path, *args)
        assert r.exit_code == 0 and raw_controls(r.output) == []
        data = json.loads(r.output.splitlines()[0] if args[0] == "list" else r.output)
        text = data["snippet"] if args[0] == "list" else data["item"]["output"]
        assert "\u202eevil\u202c" in text and "\x9b31m" in text


# -- 9. an abandoned action cannot be approved -------------------------------------------


class LockedOnExpiry(SqlQueue):
    """A queue whose expiry write fails, as when another process holds the lock."""

    def expire(self, item_id: str, comment: str = "deadline passed"):  # type: ignore[no-untyped-def]
        raise StorageError("the queue database is locked by another process")


def test_an_action_whose_agent_gave_up_cannot_be_approved_later(tmp_path):
    q = LockedOnExpiry.open(f"sqlite:///{tmp_path / 'q.db'}")
    d = Gate(queue=q).request("transfer_funds", {"amount": 1}, timeout_s=900, wait_s=0.3)
    assert not d.approved and "locked" in (d.error or "")
    with pytest.raises(Expired):
        q.decide(d.item_id, DecisionIn(verdict="approve", reviewer="alice"))
    assert q.get(d.item_id).status == "expired"  # the refusal wrote the expiry


# -- 10. bad waits fail closed, and errors name their cause ------------------------------


@pytest.mark.parametrize("kw", [
    {"wait_s": math.nan}, {"wait_s": 1e308}, {"wait_s": math.inf}, {"wait_s": -1},
    {"timeout_s": math.nan}, {"timeout_s": 1e308}, {"timeout_s": -5}, {"timeout_s": "soon"},
])
def test_bad_wait_values_fail_closed(q, kw):
    d = Gate(queue=q).request("shell", {"command": "ls"}, **kw)
    assert (d.approved, d.verdict) == (False, "reject") and d.error
    assert q.count() == 0


def test_a_deleted_database_is_named_as_the_cause(tmp_path):
    db = tmp_path / "q.db"
    SqlQueue.open(f"sqlite:///{db}").close()
    gate = Gate(db=str(db))
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("d", gate.request("shell", {"c": 1}, timeout_s=20)))
    t.start()
    _wait_for_pending(gate.queue)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t.join(30)
    d = out["d"]
    assert d.approved is False and "deleted or replaced" in (d.error or "")


# -- 11. key names in ingest errors ------------------------------------------------------


def test_ingest_errors_quote_key_names_safely(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"kind": "output", "output": "x", "\x1b]0;t\x07bad\x9b": 1}) + "\n")
    r = run(tmp_path, "ingest", str(f))
    assert r.exit_code == 6 and raw_controls(r.output) == []
    assert "\\x1b]0;t\\x07bad\\x9b: Extra inputs are not permitted" in r.output


# -- 12. the queue file is private -------------------------------------------------------


def test_a_new_queue_is_readable_by_its_owner_only(tmp_path):
    db = tmp_path / "private" / "queue.db"
    q = SqlQueue.open(f"sqlite:///{db}")
    q.enqueue(output(1))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir()}
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert modes["queue.db"] == 0o600 and modes.get("queue.db-wal", 0o600) == 0o600
    q.close()
