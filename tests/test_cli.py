"""The CLI end to end, on a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.storage import SqlQueue

from conftest import SHARED_DATA
from factories import HOSTILE


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    monkeypatch.setenv("REVIEWER_NAME", "tester")
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def loaded(run):
    for f in sorted(SHARED_DATA.glob("*.jsonl")):
        r = run("ingest", str(f))
        assert r.exit_code == 0, r.output
    return run


def test_ingest_sample_data_then_rerun_is_a_no_op(run):
    r = run("ingest", str(SHARED_DATA / "flagged_outputs.jsonl"))
    assert r.exit_code == 0
    assert "inserted 11, unchanged 0, conflicts 0, invalid 0" in r.output
    r = run("ingest", str(SHARED_DATA / "flagged_outputs.jsonl"))
    assert "inserted 0, unchanged 11" in r.output


def test_ingest_reports_bad_lines_by_number_and_keeps_good_ones(run):
    lines = [
        '{"kind": "output", "id": "a", "output": "fine"}',
        '{"kind": "output", "id": "b", "output": ',
        '{"kind": "output", "id": "c", "priority": "soon", "output": "x"}',
        "",
        '{"kind": "action", "id": "d", "action": {"arguments": {}}}',
        '{"kind": "wizard", "output": "x"}',
        '{"kind": "output", "id": "e", "output": "also fine"}',
    ]
    r = run("ingest", "-", input="\n".join(lines) + "\n")
    assert r.exit_code == 6
    assert "line 2: not valid JSON" in r.output
    assert "line 3: priority: Input should be a valid integer" in r.output
    assert "line 5: action.tool: required field is missing" in r.output
    assert "line 6: kind: must be 'output' or 'action'" in r.output
    assert "inserted 2, unchanged 0, conflicts 0, invalid 4" in r.output
    ids = [json.loads(x)["id"] for x in run("list", "--json").output.splitlines()]
    assert sorted(ids) == ["a", "e"]


def test_ingest_reports_conflicts(run):
    run("ingest", "-", input='{"kind": "output", "id": "a", "output": "v1"}\n')
    r = run("ingest", "-", input='{"kind": "output", "id": "a", "output": "v2"}\n')
    assert r.exit_code == 6
    assert "line 1: id 'a': an item with this id and different content is already queued" in r.output


def test_ingest_json_summary(run):
    r = run("ingest", "--json", "-", input='{"kind": "output", "output": "x"}\nnope\n')
    summary = json.loads(r.output.splitlines()[-1])
    assert summary["inserted"] == 1 and summary["invalid"] == 1
    assert summary["errors"][0].startswith("line 2:")


def test_list_filters_and_json(loaded):
    r = loaded("list", "--kind", "action", "--json")
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert len(rows) == 6 and {x["kind"] for x in rows} == {"action"}
    assert rows[0]["priority"] == 0
    r = loaded("list", "--queue", "finchat-summaries")
    assert "fin-0001" in r.output and "act-0001" not in r.output
    assert "ID" in r.output.splitlines()[0]


def test_list_pages_with_after(loaded):
    first = [json.loads(x)["id"] for x in loaded("list", "--json", "--limit", "5").output.splitlines()]
    rest = [json.loads(x)["id"] for x in loaded("list", "--json", "--after", first[-1]).output.splitlines()]
    assert len(first) == 5 and len(rest) == 12 and not set(first) & set(rest)


def test_show_text_and_json(loaded):
    r = loaded("show", "fin-0001")
    assert "judge.numeric_faithfulness 0.22" in r.output
    assert "Nordhavn Logistics reported" in r.output
    data = json.loads(loaded("show", "act-0002", "--json").output)
    assert data["item"]["action"]["tool"] == "run_sql" and data["status"] == "pending"


def test_show_unknown_is_one_line_with_hint(loaded):
    r = loaded("show", "missing")
    assert r.exit_code == 3
    assert "error: no item with id 'missing'" in r.output and "hint:" in r.output
    assert "Traceback" not in r.output


def test_decide_approve_reject_correct_undo(loaded, tmp_path):
    assert loaded("decide", "fin-0001", "--approve").exit_code == 0
    r = loaded("decide", "fin-0002", "--reject", "--reason", "wrong_numbers", "--comment", "invented USD")
    assert r.exit_code == 0
    fix = tmp_path / "fix.txt"
    fix.write_text("Corrected summary.")
    assert loaded("decide", "fin-0003", "--correct-file", str(fix)).exit_code == 0
    again = loaded("decide", "fin-0001", "--reject", "--reason", "tone")
    assert again.exit_code == 4 and "already decided" in again.output
    d = json.loads(loaded("show", "fin-0002", "--json").output)["decisions"][-1]
    assert (d["verdict"], d["reasons"], d["comment"], d["reviewer"]) == (
        "reject", ["wrong_numbers"], "invented USD", "tester")
    assert json.loads(loaded("show", "fin-0003", "--json").output)["decisions"][-1]["correction"] == "Corrected summary."
    assert loaded("undo", "fin-0001").exit_code == 0
    assert json.loads(loaded("show", "fin-0001", "--json").output)["status"] == "pending"


def test_decide_action_with_edited_arguments(loaded):
    r = loaded("decide", "act-0001", "--arguments", '{"order_id": "55120", "amount": 249.0}')
    assert r.exit_code == 0 and r.output.startswith("correct")
    data = json.loads(loaded("show", "act-0001", "--json").output)
    assert data["decisions"][-1]["arguments"]["amount"] == 249.0
    assert data["item"]["action"]["arguments"]["amount"] == 1249.0
    bad = loaded("decide", "act-0003", "--arguments", "[1, 2")
    assert bad.exit_code == 2 and "not valid JSON" in bad.output


def test_decide_needs_a_verdict(loaded):
    r = loaded("decide", "fin-0001")
    assert r.exit_code == 2 and "--approve" in r.output


def test_decision_id_makes_decide_idempotent(loaded):
    assert loaded("decide", "fin-0001", "--approve", "--decision-id", "d1").exit_code == 0
    assert loaded("decide", "fin-0001", "--approve", "--decision-id", "d1").exit_code == 0
    assert len(json.loads(loaded("show", "fin-0001", "--json").output)["decisions"]) == 1


def test_flag_command(run):
    r = run("flag", "--output", "The moon is cheese.", "--reason", "user.thumbs_down", "--score", "0",
            "--input", "what is the moon?", "--id", "m1", "--tag", "astro")
    assert r.exit_code == 0 and "inserted m1" in r.output
    data = json.loads(run("show", "m1", "--json").output)
    assert data["item"]["flags"][0] == {"reason": "user.thumbs_down", "score": 0.0, "detail": None}
    assert data["tags"] == ["astro"]


def test_export_golden_incremental(loaded, tmp_path):
    out = tmp_path / "golden.jsonl"
    loaded("decide", "fin-0001", "--approve")
    fix = tmp_path / "fix.txt"
    fix.write_text("fixed")
    loaded("decide", "fin-0002", "--correct-file", str(fix))
    loaded("decide", "fin-0003", "--reject", "--reason", "tone")
    r = loaded("export", "--format", "golden", "-o", str(out), "--cursor", "ds")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert {x["id"]: x["expected_output"] for x in rows} == {
        "fin-0001": json.loads(loaded("show", "fin-0001", "--json").output)["item"]["output"],
        "fin-0002": "fixed",
    }
    meta = rows[1]["metadata"]
    assert set(meta) >= {"source", "verdict", "reviewer", "reasons", "original_output", "decided_at"}
    manifest = json.loads((tmp_path / "golden.jsonl.manifest.json").read_text())
    import hashlib

    assert manifest["records"] == 2 and manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    # Incremental: undo one, approve another; the file follows, unchanged entries stay.
    loaded("undo", "fin-0001")
    loaded("decide", "sup-0001", "--approve")
    r = loaded("export", "-o", str(out), "--cursor", "ds")
    ids = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert sorted(ids) == ["fin-0002", "sup-0001"]
    assert "wrote 1 new record (2 in all)" in r.output
    r = loaded("export", "-o", str(out), "--cursor", "ds")
    assert "wrote 0 new records (2 in all)" in r.output


def test_export_include_rejected(loaded, tmp_path):
    loaded("decide", "fin-0003", "--reject", "--reason", "tone")
    out = tmp_path / "g.jsonl"
    loaded("export", "-o", str(out), "--include-rejected")
    row = json.loads(out.read_text())
    assert row["expected_output"] is None and row["metadata"]["verdict"] == "reject"


def test_db_upgrade(run):
    r = run("db", "upgrade")
    from reviewer.storage.schema import HEAD

    assert r.exit_code == 0 and f"schema at {HEAD}" in r.output


def test_bad_db_url_is_one_clear_line(run):
    r = run("--db", "mysql://x/y", "list")
    assert r.exit_code == 5 and "unsupported database" in r.output


def test_corrupt_db_file_is_one_clear_line(tmp_path, run):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    r = run("--db", str(bad), "list")
    assert r.exit_code == 5 and "corrupt" in r.output and "Traceback" not in r.output


def test_hostile_content_is_escaped_in_list_and_show(run):
    text = " ".join(HOSTILE)
    item = {"kind": "output", "id": "evil", "output": text, "flags": [{"reason": "x", "detail": text}]}
    run("ingest", "-", input=json.dumps(item) + "\n")
    for args in (("list",), ("show", "evil")):
        out = run(*args).output
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x9b" not in out
    assert "\\x1b]0;pwned" in out and "\\u202eevil" in out
    assert json.loads(run("show", "evil", "--json").output)["item"]["output"] == text


def test_version_and_help_are_fast_and_light():
    code = ("import sys; from reviewer.cli import cli\n"
            "try: cli(['--help'])\nexcept SystemExit: pass\n"
            "bad = [m for m in ('sqlalchemy', 'textual', 'litellm', 'pydantic') if m in sys.modules]\n"
            "print('HEAVY', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out
    assert "reviewer demo" in out


def test_db_upgrade_migrates_an_old_schema(tmp_path):
    """A database at revision 0001 gets the later indexes and columns when upgraded."""
    import sqlite3

    from reviewer.storage import migrate
    from reviewer.storage.engine import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.SCRIPTS))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.commit()
    assert migrate.current_revision(engine) == "0001"
    r = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert f"schema at {migrate.HEAD} (was 0001)" in r.output
    names = {row[0] for row in sqlite3.connect(tmp_path / "old.db").execute(
        "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_items_priority", "ix_items_kind"} <= names


def test_stats(loaded):
    loaded("decide", "fin-0001", "--approve")
    data = json.loads(loaded("stats", "--json").output)
    assert (data["pending"], data["decided"], data["decided_today"], data["total"]) == (16, 1, 1, 17)
    assert "decided today 1" in loaded("stats").output


CRITICAL = ('{"kind": "action", "id": "wire-1", "queue": "payments", "risk": "critical", '
            '"action": {"tool": "transfer_funds", "arguments": {"amount": 48500}}}\n')


def _cli(cwd, db, *args, name="alice"):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "REVIEWER_DB": str(db), "REVIEWER_NAME": name}
    return subprocess.run([sys.executable, "-m", "reviewer", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, input=None)


def test_two_approvers_is_the_queues_rule_whatever_directory_a_client_runs_in(tmp_path):
    """The old bypass: the rule came from the toml of the caller's directory."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    db = tmp_path / "q.db"
    assert _cli(a, db, "queue", "set", "payments", "--two-approvers").returncode == 0
    (a / "items.jsonl").write_text(CRITICAL)
    assert _cli(a, db, "ingest", "items.jsonl").returncode == 0
    first = _cli(b, db, "decide", "wire-1", "--approve", "--confirm", "transfer_funds", name="alice")  # b has no reviewer.toml
    assert first.returncode == 0, first.stderr
    assert json.loads(_cli(b, db, "show", "wire-1", "--json").stdout)["status"] == "pending"
    same = _cli(b, db, "decide", "wire-1", "--approve", "--confirm", "transfer_funds", name="alice")
    assert same.returncode == 4 and "different approver" in same.stderr
    assert _cli(b, db, "decide", "wire-1", "--approve", "--confirm", "transfer_funds", name="bob").returncode == 0
    assert json.loads(_cli(a, db, "show", "wire-1", "--json").stdout)["status"] == "decided"


def test_reading_a_queue_that_is_not_there_says_so_instead_of_making_an_empty_one(tmp_path):
    """A typo in --db (or the demo's queue looked for in the real one's place) is an error for
    the commands that only read, with what to do; nothing is created."""
    for args in (["export", "-o", str(tmp_path / "g.jsonl")], ["list"], ["stats"], ["report"], ["show", "x-1"]):
        r = _cli(tmp_path, tmp_path / "typo.db", *args)
        assert r.returncode != 0 and r.stderr.startswith(f"error: no queue at {tmp_path / 'typo.db'}"), r.stderr
        assert "reviewer ingest FILE creates it" in r.stderr and "demo.db" in r.stderr
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "g.jsonl").exists()


def test_an_old_toml_queue_setting_is_named_with_the_command_that_replaces_it(tmp_path):
    (tmp_path / "reviewer.toml").write_text('[queues.payments]\ntwo_approvers = true\nreasons = ["fraud"]\n')
    SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}").close()
    r = _cli(tmp_path, tmp_path / "q.db", "list")
    assert r.returncode == 0
    assert "NOT in effect" in r.stderr
    assert "reviewer queue set payments --two-approvers --reasons fraud" in r.stderr
    assert r.stderr.count("NOT in effect") == 1


def test_queue_set_and_show(run):
    r = run("queue", "set", "finchat", "--reasons", "wrong_numbers, tone", "--lease", "10m",
            "--guidelines", "Quote figures exactly.")
    assert r.exit_code == 0, r.output
    shown = json.loads(run("queue", "show", "finchat", "--json").output)["finchat"]
    assert (shown["reasons"], shown["lease_s"], shown["guidelines"]) == (["wrong_numbers", "tone"], 600,
                                                                         "Quote figures exactly.")
    assert run("queue", "set", "finchat", "--lease", "soon").exit_code == 2
    assert "lease_s" in run("queue", "set", "finchat", "--lease", "5s").output  # below the minimum
    assert run("queue", "set", "finchat", "--reasons", "default").exit_code == 0
    assert "the default taxonomy" in run("queue", "show", "finchat").output
    assert "nothing to change" in run("queue", "set", "finchat").output


@pytest.mark.parametrize(("args", "says"), [
    (["fin-0001", "--approve", "--reject", "--reason", "tone"], "choose one of --approve and --reject"),
    (["fin-0001", "--reject"], "a reject needs at least one --reason"),
    (["fin-0001", "--reject", "--reason", "made_up"], "not in queue"),
    (["fin-0001", "--approve", "--reason", "made_up"], "not in queue"),
])
def test_decide_refuses_what_the_tui_refuses(loaded, args, says):
    r = loaded("decide", *args)
    assert r.exit_code == 2 and says in r.output, r.output
    assert json.loads(loaded("show", "fin-0001", "--json").output)["status"] == "pending"


def test_a_critical_action_is_approved_only_with_its_tool_typed(run, tmp_path):
    (tmp_path / "c.jsonl").write_text(CRITICAL)
    assert run("ingest", str(tmp_path / "c.jsonl")).exit_code == 0
    r = run("decide", "wire-1", "--approve")
    assert r.exit_code == 2 and "--confirm transfer_funds" in r.output
    assert run("decide", "wire-1", "--approve", "--confirm", "transfer_fund").exit_code == 2
    assert run("decide", "wire-1", "--reject", "--reason", "unsafe").exit_code == 0  # a reject needs none


def test_list_shows_whole_ids_and_every_status(run):
    long_id = "an-output-with-a-rather-long-identifier-0001"
    assert run("flag", "--id", long_id, "--output", "x", "--reason", "r").exit_code == 0
    r = run("list")
    assert long_id in r.output
    assert long_id in run("list", "--status", "all").output
    assert long_id in run("list", "--status", "open").output
    assert "no items match" in run("list", "--status", "decided").output


def test_a_correction_that_changes_nothing_is_refused_and_newlines_are_trimmed(loaded, tmp_path):
    original = json.loads(loaded("show", "fin-0003", "--json").output)["item"]["output"]
    same = tmp_path / "same.txt"
    same.write_text(original + "\n")  # an editor's last newline
    r = loaded("decide", "fin-0003", "--correct-file", str(same))
    assert r.exit_code == 1 and "the same as the output" in r.output
    fixed = tmp_path / "fixed.txt"
    fixed.write_text("Corrected summary.\n\n")
    assert loaded("decide", "fin-0003", "--correct-file", str(fixed)).exit_code == 0
    d = json.loads(loaded("show", "fin-0003", "--json").output)["decisions"][-1]
    assert d["correction"] == "Corrected summary."


def test_a_database_url_missing_its_slashes_is_refused_not_made_a_file(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["--db", "sqlite:/tmp/nowhere.db", "stats"])
    assert r.exit_code != 0 and "is not a database URL" in r.output
    assert list(tmp_path.iterdir()) == []  # no stray file or folder named after the URL
