"""`reviewer export --redact`: every string that leaves in any format, and the ways people
write addresses, phone numbers, IBANs and card numbers."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.vocab import EXPORT_FORMATS

pytest.importorskip("presidio_analyzer")
pytest.importorskip("stdnum")

from reviewer.redact import redact_text  # noqa: E402

EMAILS = [
    "alice@example.com", "ALICE@EXAMPLE.COM", "Alice.Smith+invoices@example.com", "bob@mail.eu.example.co.uk",
    '"alice smith"@example.com', "josé.garcía@correo.españa.es", "用户@例子.广告", "user@xn--mnchen-3ya.de",
    "alice @ example.com", "alice@ example.com", "alice [at] example [dot] com", "alice(at)example(dot)com",
    "alice{at}example.com", "alice at example dot com", "ALICE AT EXAMPLE DOT COM", "alice＠example．com",
    "root@[192.168.0.1]", "o'brien@example.ie", "x_y-z@sub-domain.example.org", "ops@corp.internal",
    "buyer13@customer.example", "a\u200blice@example.com",
]
IBANS = [
    "DE89370400440532013000", "de89370400440532013000", "DE89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00",
    "DE89-3704-0044-0532-0130-00", "DE89.3704.0044.0532.0130.00", "GB82 WEST 1234 5698 7654 32",
    "gb82west12345698765432", "FR14 2004 1010 0505 0001 3M02 606", "NL91ABNA0417164300", "nl91 abna 0417 1643 00",
    "ES91 2100 0418 4502 0005 1332", "IT60 X054 2811 1010 0000 0123 456", "CH93 0076 2011 6238 5295 7",
    "BE68\u00a05390\u00a00754\u00a07034", "DE89 370 400 440 532 013 000",
]
CARDS = [
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111.1111.1111.1111",
    "4111\u00a01111\u00a01111\u00a01111", "4111\u202f1111\u202f1111\u202f1111", "4111\u20091111\u20091111\u20091111",
    "4111\u20131111\u20131111\u20131111", "５５５５ ５５５５ ５５５５ ４４４４", "5555 5555 5555 4444",
    "2223 0031 2200 3222", "3782 822463 10005", "378282246310005", "6011 1111 1111 1117", "3056 9309 0259 04",
    "4222222222222", "3530 1113 3330 0000", "6212 3456 7890 1232", "6011 0000 0000 0000 001", "4000 0566 5566 5556",
]
PHONES = [
    "+1 415 555 0137", "+1-415-555-0137", "(415) 555-0137", "415.555.0137", "415 555 0137", "4155550137",
    "+1\u00a0415\u00a0555\u00a00137", "+44 20 7946 0958", "020 7946 0958", "+44 (0)20 7946 0958", "0044 20 7946 0958",
    "+49 30 901820", "030 901820", "+33 1 42 68 53 00", "01 42 68 53 00", "+91 98765 43210", "+55 11 91234 5678",
    "+61 2 9374 4000", "+81 3-1234-5678", "+972 3 123 4567",
]
LEFT_ALONE = [
    "SEK 4,812m and EBIT of SEK 611m", "on 2026-11-27 at 20:41", "version 3.14.159", "the limit is 1644 per minute",
    "see the docs at docs.python.org", "look at this dot product", "order 55120 for 1249.0 EUR",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736", "p95 latency 2.4s > 800ms", "estimated_rows 1840233",
    "Q3 2026 up 22.7%", "RFC 3339 and ISO 8601", "gpt-4o-2024-11-20", "meet at noon, then lunch at 1",
]
ALL = ([(v, "<EMAIL>") for v in EMAILS] + [(v, "<IBAN>") for v in IBANS] + [(v, "<CARD>") for v in CARDS]
       + [(v, "<PHONE>") for v in PHONES])


@pytest.mark.parametrize(("written", "placeholder"), ALL, ids=[repr(v) for v, _ in ALL])
def test_each_way_of_writing_it_is_replaced_whole(written, placeholder):
    counts: Counter[str] = Counter()
    assert redact_text(f"Reach me: {written}, thanks.", counts) == f"Reach me: {placeholder}, thanks."
    assert counts == {placeholder: 1}


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_figures_dates_and_prose_are_left_alone(text):
    assert redact_text(text, Counter()) == text


def test_a_number_only_possible_as_a_phone_counts_after_a_phone_word():
    assert redact_text("phone: 123-4567", Counter()) == "phone: <PHONE>"
    assert redact_text("chapter 123-4567", Counter()) == "chapter 123-4567"


def test_hostile_text_takes_linear_time():
    """presidio's own address pattern takes quadratic time on a long dotted token."""
    for hostile in ("x." * 20_000 + "@", "DE89" + "A" * 50_000, "@" * 50_000, "a at " * 20_000 + "b dot com"):
        t = time.perf_counter()
        redact_text(hostile, Counter())
        assert time.perf_counter() - t < 1.5, hostile[:10]


PLANTED = {where: f"pii-{where.replace('.', '-')}@example.com" for where in (  # where -> the address planted there
    "source.app", "source.model", "source.extra", "source.trace_id", "messages.name", "messages.content",
    "flags.detail", "document.title", "document.id", "document.text", "metadata.key", "metadata.value", "output",
    "reference", "comment", "correction", "arguments", "arguments.key", "rationale", "preview", "edited")}
CARD, IBAN, PHONE = "4111.1111.1111.1111", "de89 3704 0044 0532 0130 00", "+44 20 7946 0958"


def _item(kind: str) -> dict:
    p = PLANTED
    item = {
        "kind": kind, "id": f"{kind}-1", "queue": "pii",
        "source": {"app": p["source.app"], "model": p["source.model"], "trace_id": p["source.trace_id"],
                   "customer": p["source.extra"]},
        "flags": [{"reason": "user.thumbs_down", "detail": f"{p['flags.detail']} card {CARD}"}],
        "input": {"messages": [{"role": "user", "name": p["messages.name"],
                                "content": f"{p['messages.content']} iban {IBAN} phone {PHONE}"}]},
        "context": {"documents": [{"id": p["document.id"], "title": p["document.title"], "text": p["document.text"]}],
                    "metadata": {p["metadata.key"]: p["metadata.value"]}},
    }
    if kind == "output":
        item |= {"output": p["output"], "reference": p["reference"]}
    else:
        item |= {"action": {"tool": "send_mail", "rationale": p["rationale"],
                            "arguments": {"to": p["arguments"], p["arguments.key"]: [PHONE]},
                            "preview": {"before": "", "after": p["preview"]}}}
    return item


@pytest.fixture
def exported(tmp_path, monkeypatch):
    """An output and an action with PII in every free-text field, corrected, then a function
    that exports them in a format with --redact and returns the file's text."""
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    monkeypatch.setenv("REVIEWER_NAME", "tester")
    runner = CliRunner()

    def run(*args: str) -> str:
        r = runner.invoke(cli, list(args), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.output

    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(_item(k)) + "\n" for k in ("output", "action")))
    run("ingest", str(data))
    fix = tmp_path / "fix.txt"
    fix.write_text(f"{PLANTED['correction']} or call {PHONE}\n")
    run("decide", "output-1", "--correct-file", str(fix), "--comment", f"{PLANTED['comment']} {CARD}")
    run("decide", "action-1", "--arguments", json.dumps({"to": PLANTED["edited"], "iban": IBAN}),
        "--comment", PLANTED["comment"])

    def export(fmt: str) -> str:
        out = tmp_path / f"{fmt}.out"
        run("export", "--format", fmt, "-o", str(out), "--redact")
        return out.read_text(encoding="utf-8")

    return export


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_nothing_planted_in_any_field_leaves_in_any_format(exported, fmt):
    text = exported(fmt)
    assert text.strip(), "the format wrote nothing: the test would prove nothing"
    leaked = {where: pii for where, pii in PLANTED.items() if pii.split("@")[0] in text}
    leaked |= {what: pii for what, pii in (("card", "1111.1111"), ("iban", "0532 0130"), ("phone", "7946 0958"))
               if pii in text}
    assert not leaked
    assert "<EMAIL>" in text


def test_ids_and_times_stay_as_they_are(exported):
    rows = [json.loads(x) for x in exported("feedback").splitlines()]
    assert sorted(r["id"] for r in rows) == ["action-1", "output-1"]
    assert all(r["trace_id"] == "<EMAIL>" and r["decided_at"][:2] == "20" for r in rows)


def test_trace_ids_keep_their_digits():
    from reviewer.redact import redact

    rec = {"id": "x", "trace_id": "tr_83122301556", "session_id": "alice@example.com", "comment": "4155550137"}
    assert redact(rec, Counter()) == {"id": "x", "trace_id": "tr_83122301556", "session_id": "<EMAIL>",
                                     "comment": "<PHONE>"}


def test_the_shared_samples_keep_their_figures(tmp_path: Path):
    text = "Net sales: SEK 4,812m (Q3 2025: SEK 4,390m)\nOperating income (EBIT): SEK 611m\nEBIT margin: 12.7%"
    assert redact_text(text, Counter()) == text


def test_an_incremental_redacted_export_keeps_no_record_it_did_not_redact(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    monkeypatch.setenv("REVIEWER_NAME", "tester")
    runner = CliRunner()
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"kind": "output", "id": f"o{i}", "output": f"mail o{i}@example.com",
                                        "input": {"text": "q"}}) + "\n" for i in (1, 2)))
    out = tmp_path / "g.jsonl"
    export = ["export", "--format", "golden", "-o", str(out)]
    for args in (["ingest", str(data)], ["decide", "o1", "--approve"], [*export, "--cursor", "c"],
                 ["decide", "o2", "--approve"]):
        assert runner.invoke(cli, args).exit_code == 0
    r = runner.invoke(cli, [*export, "--cursor", "c", "--redact"])
    assert r.exit_code != 0 and "not redacted" in r.output and "without --cursor" in r.output
    assert "o1@example.com" in out.read_text()  # the refused run changed nothing
    assert runner.invoke(cli, [*export, "--redact"]).exit_code == 0
    assert runner.invoke(cli, ["undo", "o2"]).exit_code == 0
    assert runner.invoke(cli, ["decide", "o2", "--approve"]).exit_code == 0
    r = runner.invoke(cli, [*export, "--cursor", "c", "--redact"])
    assert r.exit_code == 0, r.output
    assert "@example.com" not in out.read_text() and out.read_text().count("<EMAIL>") == 4  # output and original_output
