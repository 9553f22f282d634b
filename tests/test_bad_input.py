"""Hostile and oversized input: clear errors for the bad, byte-for-byte storage for the odd."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.storage import SqlQueue

from factories import HOSTILE


def _ingest(tmp_path, lines: list[str]):
    db = tmp_path / "q.db"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["--db", str(db), "ingest", str(src)], catch_exceptions=False)
    return r, SqlQueue.open(f"sqlite:///{db}")


def test_five_megabyte_output_goes_in_whole(tmp_path):
    big = ("The quarterly figures show " * 200_000)[:5_000_000]
    r, q = _ingest(tmp_path, [json.dumps({"kind": "output", "id": "big", "output": big})])
    assert r.exit_code == 0 and "inserted 1" in r.output
    assert q.get("big").item.output == big
    assert len(q.list_items()[0].snippet) <= 240


def test_hostile_strings_are_stored_byte_for_byte_everywhere(tmp_path):
    text = "\n".join(HOSTILE) + "\x00nul \ud7ff \U0001f600"
    item = {
        "kind": "action", "id": "evil", "queue": "q",
        "action": {"tool": "shell", "arguments": {"command": text, "nested": [text, {"k": text}]},
                   "rationale": text, "preview": {"before": text, "after": text + "!"}},
        "input": {"messages": [{"role": "user", "content": text}]},
        "context": {"documents": [{"id": "d", "title": text, "text": text}], "metadata": {"m": text}},
        "flags": [{"reason": "guardrail.injection", "detail": text}],
        "source": {"app": text},
    }
    r, q = _ingest(tmp_path, [json.dumps(item)])
    assert r.exit_code == 0, r.output
    got = q.get("evil").item
    assert got.action.arguments == item["action"]["arguments"]
    assert got.action.rationale == text and got.action.preview.after == text + "!"
    assert got.input.messages[0].content == text
    assert got.context.documents[0].title == text and got.context.metadata == {"m": text}
    assert got.flags[0].detail == text and got.source.app == text


def test_wrong_types_and_missing_fields_name_line_and_field(tmp_path):
    lines = [
        json.dumps({"kind": "output", "output": "ok", "id": "good"}),
        json.dumps({"kind": "output", "output": ["not", "a", "string"]}),
        json.dumps({"kind": "output", "output": "x", "tags": "eu"}),
        json.dumps({"kind": "action", "action": {"tool": "t", "arguments": "rm -rf"}}),
        json.dumps({"kind": "output", "output": "x", "created_at": "yesterday"}),
        json.dumps({"kind": "action", "action": {"tool": ""}}),
        "[1, 2, 3]",
        "\x00\x01garbage",
    ]
    r, q = _ingest(tmp_path, lines)
    assert r.exit_code == 6
    assert "line 2: output: Input should be a valid string" in r.output
    assert "line 3: tags: Input should be a valid array" in r.output
    assert "line 4: action.arguments: Input should be an object" in r.output
    assert "line 5: created_at: Input should be a valid datetime" in r.output
    assert "line 6: action.tool: must be a non-empty string" in r.output
    assert "line 7: item: Input should be an object" in r.output and "line 8: not valid JSON" in r.output
    assert [s.id for s in q.list_items()] == ["good"]


def test_invalid_utf8_line_is_reported(tmp_path):
    db = tmp_path / "q.db"
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"kind": "output", "output": "\xff\xfe"}\n{"kind": "output", "output": "ok"}\n')
    r = CliRunner().invoke(cli, ["--db", str(db), "ingest", str(src)], catch_exceptions=False)
    assert r.exit_code == 6 and "line 1:" in r.output and "inserted 1" in r.output
