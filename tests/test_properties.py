"""Property-based tests: ingest never raises and reports one line per bad line, safe text is
inert, and a deny rule never turns into an allow. Fixed seed, bounded examples."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from reviewer.ingest import LineError, parse_lines
from reviewer.models import parse_item
from reviewer.policy import parse_policy
from reviewer.safe_text import safe, safe_line

PROPS = settings(
    derandomize=True,  # the same examples on every run
    database=None,  # nothing written next to the checkout
    max_examples=200,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow explain
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SHORT = settings(PROPS, max_examples=100)


# -- what a terminal could act on, defined here and not taken from the product ---------------

def forbidden(ch: str) -> bool:
    """C0 except newline and tab, DEL, C1, bidi embeddings/overrides/isolates, U+2028/2029."""
    o = ord(ch)
    return ((o < 0x20 and ch not in "\n\t") or 0x7F <= o <= 0x9F or 0x202A <= o <= 0x202E
            or 0x2066 <= o <= 0x2069 or ch in "\u2028\u2029")


def unsafe_chars(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if forbidden(c)})


HOSTILE_CHARS = (
    [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u2028", "\u2029", "\ufeff", "\u200e", "\u200f", "\u061c"]
)
HOSTILE_SEQS = ["\x1b[31m", "\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x9b2J", "[bold]", "\r\n"]

# -- strategies ------------------------------------------------------------------------------

HOSTILE_TEXT = st.lists(
    st.one_of(st.sampled_from(HOSTILE_CHARS), st.sampled_from(HOSTILE_SEQS), st.characters()), max_size=30,
).map("".join)
TEXT = st.one_of(
    st.text(max_size=30),  # all of unicode except surrogates
    HOSTILE_TEXT,
    st.text(st.characters(exclude_categories=()), max_size=10),  # lone surrogates too
)
HUGE_INTS = st.sampled_from([2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 2**64, 10**30, -(10**30), 10**400])
INTS = st.one_of(st.integers(), st.integers(-3, 12), HUGE_INTS)
FLOATS = st.one_of(
    st.floats(),  # nan and infinities included
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, -0.0, 0.5]),
)
NUMBERS = st.one_of(INTS, FLOATS)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=12,
)
LABELS = st.one_of(st.sampled_from(["fin-1", "default", "rag-qa", "judge.faithfulness", "a b", "é"]),
                   st.text(min_size=1, max_size=12), HOSTILE_TEXT)
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))])
DATES = st.one_of(
    st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), st.datetimes(), ZONES),
    st.sampled_from(["2030-01-01T12:00:00Z", "2030-02-30T00:00:00Z", "yesterday", "0000-01-01", ""]),
)


def sometimes_wrong(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right shape, sometimes any JSON value at all."""
    return st.integers(0, 5).flatmap(lambda n: JSON if n == 0 else good)


def obj(required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]],
        *, wrong: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with the given fields. With `wrong`, values are sometimes of the wrong type,
    required fields sometimes missing, and now and then there is an unknown key."""
    if not wrong:
        return st.fixed_dictionaries(required, optional=optional)
    fields = st.fixed_dictionaries(
        {}, optional={k: sometimes_wrong(v) for k, v in {**required, **optional}.items()})
    required_kept = st.fixed_dictionaries({k: sometimes_wrong(v) for k, v in required.items()})
    base = st.one_of(st.tuples(required_kept, fields).map(lambda t: {**t[1], **t[0]}), fields)
    junk = st.one_of(st.just({}), st.just({}), st.just({}), st.dictionaries(TEXT, JSON, max_size=2))
    return st.tuples(base, junk).map(lambda t: {**t[1], **t[0]})


def items(wrong: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Output and action items; with `wrong`, almost valid ones (see `obj`)."""
    o = lambda req, opt: obj(req, opt, wrong=wrong)  # noqa: E731
    messages = st.lists(o({"role": st.sampled_from(["user", "assistant", "system"])},
                          {"content": TEXT, "name": TEXT,
                           "tool_calls": st.lists(st.dictionaries(TEXT, JSON, max_size=3), max_size=2)}),
                        max_size=3)
    common = {
        "id": LABELS, "queue": LABELS, "priority": INTS, "tags": st.lists(LABELS, max_size=3),
        "source": o({}, {"app": TEXT, "trace_id": TEXT, "model": TEXT, "latency_ms": NUMBERS,
                         "cost_usd": NUMBERS}),
        "flags": st.lists(o({"reason": LABELS}, {"score": NUMBERS, "detail": TEXT}), max_size=3),
        "input": o({}, {"messages": messages, "text": TEXT}),
        "context": o({}, {"documents": st.lists(o({"id": TEXT, "text": TEXT}, {"title": TEXT}), max_size=2),
                          "metadata": st.dictionaries(TEXT, JSON, max_size=3)}),
        "created_at": DATES,
    }
    kind = (lambda k: st.one_of(st.just(k), st.just(k), KIND)) if wrong else st.just
    outputs = st.tuples(o({"output": TEXT}, {**common, "reference": TEXT}), kind("output"))
    actions = st.tuples(
        o({"action": o({"tool": LABELS}, {
            "arguments": st.dictionaries(TEXT, JSON, max_size=4), "rationale": TEXT,
            "preview": o({"before": TEXT, "after": TEXT}, {"path": TEXT})})},
          {**common, "risk": st.sampled_from(["low", "medium", "high", "critical"]), "timeout_s": NUMBERS,
           "expires_at": DATES, "on_timeout": st.sampled_from(["reject", "approve"])}),
        kind("action"))
    return st.one_of(outputs, actions).map(lambda t: {"kind": t[1], **t[0]})


KIND = st.one_of(st.sampled_from(["output", "action"]), st.sampled_from(["Output", "", "flag"]), JSON)
ALMOST_VALID = items(wrong=True)
MOSTLY_VALID = items(wrong=False)  # right types and fields; values may still be out of range


def encode(value: Any, ascii_only: bool, as_bytes: bool) -> str | bytes:
    """One JSONL line (Infinity and NaN written as Python's json writes them)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    if as_bytes:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: send the text itself
            return text
    return text


def lines_of(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str | bytes]:
    return st.builds(encode, values, st.booleans(), st.booleans())


VALID_LINE = json.dumps({"kind": "output", "id": "ok-1", "output": "fine"}).encode()
NESTED = [
    b"[" * 300 + b"]" * 300,
    b'{"a":' * 300 + b"1" + b"}" * 300,
    b'{"kind":"output","output":"x","context":{"metadata":{"m":' + b"[" * 300 + b"]" * 300 + b"}}}",
    b'{"kind":"output","output":"x","context":{"metadata":{"m":' + b"[" * 100 + b"]" * 100 + b"}}}",
    b'{"kind":"action","action":{"tool":"t","arguments":{"a":' + b'{"b":' * 150 + b"1" + b"}" * 150
    + b"}}}",
]
SPECIAL_BYTES = [
    b"Infinity", b"-Infinity", b"NaN", b"nan", b"null", b"true", b"0", b"1e999", b'""', b"[]", b"{}",
    b'{"kind":"output","output":"x","priority":NaN}',
    b'{"kind":"output","output":"x","flags":[{"reason":"r","score":Infinity}]}',
    b'{"kind":"output","output":"x","priority":1e999}',
    b'{"kind":"output","output":"x","priority":' + str(10**30).encode() + b"}",
    b'{"kind":"output","output":"x","priority":' + str(2**63).encode() + b"}",
    b'{"kind":"action","action":{"tool":"t","arguments":{"n":' + str(10**400).encode() + b"}}}",
    b'{"kind":"output","output":"\xff\xfe"}',  # invalid UTF-8 inside a string
    b'{"kind":"output","output":"\xc0\xaf"}',  # overlong encoding
    b'{"kind":"output","output":"\\ud800"}',  # lone surrogate escape
    b'{"kind":"output","output":"\\u0000\\u001b[2J"}',
    b'\xef\xbb\xbf{"kind":"output","output":"bom"}',
    json.dumps({"kind": "output", "output": "utf16"}).encode("utf-16"),
    b'{"kind":"output","output":"x"}\r',
    b'{"kind":"output","output":"x"} {"kind":"output","output":"y"}',
    b'{"kind":"output","output":"x","output":"dup"}',
    b'{"kind":"output","output":"x",}',
    b'{"kind":"output","output":"x"\x00}',
    b'{"kind":"output","output":"x","extra\\n\\u001b]0;t\\u0007key":1}',
    *NESTED,
]
RAW_BYTES = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(SPECIAL_BYTES),
    # a valid line cut anywhere
    st.builds(lambda b, n: b[:n], st.sampled_from([VALID_LINE, *SPECIAL_BYTES]), st.integers(0, 80)),
    # an almost valid item, cut anywhere
    st.builds(lambda b, n: b[: len(b) * n // 100],
              lines_of(ALMOST_VALID).map(lambda x: x if isinstance(x, bytes) else x.encode("utf-8", "replace")),
              st.integers(1, 99)),
)
ANY_LINE = st.one_of(lines_of(JSON), lines_of(ALMOST_VALID), RAW_BYTES)


def is_blank(raw: str | bytes) -> bool:
    """Only JSON whitespace: the one kind of line that may be skipped without a word."""
    return not (raw.decode("latin-1") if isinstance(raw, bytes) else raw).strip(" \t\r\n")


def check_lines(lines: list[str | bytes]) -> list[tuple[int, Any]]:
    """Every non-blank line is one valid item or exactly one one-line error; nothing raises."""
    errors: list[LineError] = []
    got = list(parse_lines(lines, errors))
    if currently_in_test_context():
        note(f"errors: {[str(e) for e in errors]!r}")
        event(f"{len(got)} valid item(s)")
    item_lines = [n for n, _ in got]
    error_lines = Counter(e.line for e in errors)
    expected = [n for n, raw in enumerate(lines, start=1) if not is_blank(raw)]
    assert all(c == 1 for c in error_lines.values()), f"more than one error for a line: {errors}"
    assert not set(item_lines) & set(error_lines), "a line gave both an item and an error"
    assert sorted([*item_lines, *error_lines]) == expected, "a line gave neither an item nor an error"
    for e in errors:
        text = str(e)
        assert text.startswith(f"line {e.line}: "), text
        assert "\n" not in text and "\r" not in text, f"error is not one line: {text!r}"
        assert not unsafe_chars(text), f"raw control characters in an error: {text!r}"
    return got


def check_round_trip(got: list[tuple[int, Any]]) -> None:
    for _, item in got:
        again = parse_item(item.model_dump_json())
        assert again == item, f"{item!r} came back as {again!r}"


# -- 1. wire models --------------------------------------------------------------------------

@PROPS
@given(lines_of(JSON))
def test_any_json_value_is_an_item_or_one_error_line(line: str | bytes) -> None:
    """Any JSON value as a line: a valid item (which round-trips) or one one-line error."""
    check_round_trip(check_lines([line]))


@PROPS
@given(lines_of(ALMOST_VALID))
def test_almost_valid_items_are_an_item_or_one_error_line(line: str | bytes) -> None:
    """Items with missing, misspelt, wrong-typed or out-of-range fields."""
    check_round_trip(check_lines([line]))


@PROPS
@given(RAW_BYTES)
def test_raw_bytes_are_an_item_or_one_error_line(line: bytes) -> None:
    """Random binary, truncated JSON, NaN and Infinity, deep nesting, broken UTF-8."""
    check_round_trip(check_lines([line]))


@PROPS
@given(lines_of(MOSTLY_VALID))
def test_valid_items_round_trip(line: str | bytes) -> None:
    """Items of the right shape: valid ones come back equal from their own JSON."""
    check_round_trip(check_lines([line]))


@pytest.mark.parametrize("line", SPECIAL_BYTES, ids=range(len(SPECIAL_BYTES)))
def test_special_lines_are_an_item_or_one_error_line(line: bytes) -> None:
    """Each hand-picked hostile line, as bytes and as text, at line 3 after a blank line."""
    for raw in (line, line.decode("utf-8", "surrogateescape")):
        got = check_lines([VALID_LINE, b"  ", raw])
        check_round_trip(got)


@pytest.mark.parametrize("line", ["\u3000", "\xa0", "\x85", "\x1c", "\u2028", "\x0c", b"\x0b", b"\x0c"],
                         ids=["u3000", "nbsp", "nel", "x1c", "u2028", "ff", "vt-bytes", "ff-bytes"])
def test_whitespace_that_is_not_json_is_reported(line: str | bytes) -> None:
    """Only JSON whitespace makes a line blank; any other whitespace-only line is one error."""
    check_lines([line])


@SHORT
@given(st.lists(st.one_of(ANY_LINE, st.sampled_from([b"", b"  ", "\t", b"\r"])), min_size=1, max_size=6))
def test_each_line_of_a_file_is_accounted_for_once(lines: list[str | bytes]) -> None:
    """Several lines: the errors carry the right line numbers, one each; blank lines are skipped."""
    check_round_trip(check_lines(lines))


# -- 2. safe text ----------------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=())),  # lone surrogates too
    st.text(st.sampled_from(HOSTILE_CHARS)),
    HOSTILE_TEXT,
    st.builds(lambda s, n: s * n, HOSTILE_TEXT, st.integers(1, 1500)),  # long, past the limits
)
LIMITS = st.one_of(st.none(), st.integers(1, 300), st.just(20_000))


@PROPS
@given(ANY_TEXT, LIMITS)
def test_safe_leaves_no_control_characters(text: str, limit: int | None) -> None:
    """`safe` keeps newlines and tabs and nothing else a terminal acts on."""
    out = safe(text) if limit == 20_000 else safe(text, limit=limit)
    assert not unsafe_chars(out), (unsafe_chars(out), out)


@PROPS
@given(ANY_TEXT, st.one_of(st.none(), st.integers(1, 300)))
def test_safe_line_is_one_inert_line_within_its_limit(text: str, limit: int | None) -> None:
    """`safe_line`: no control characters, no newline or tab, at most `limit` characters."""
    out = safe_line(text) if limit is None else safe_line(text, limit)
    assert not unsafe_chars(out), (unsafe_chars(out), out)
    assert "\n" not in out and "\t" not in out, out
    assert len(out) <= (200 if limit is None else limit), (len(out), limit)


# -- 3. policies -----------------------------------------------------------------------------

ARG_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT,
              st.sampled_from(["DROP TABLE users", "drop", "SELECT 1", ""])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(TEXT, st.just("statement")), children, max_size=4)),
    max_leaves=10,
)
ARG_KEYS = st.one_of(TEXT, st.sampled_from(["statement", "Statement", "STATEMENT", "statement ", " statement",
                                            "statement.x", "stmt", "sql", "query", "statement\x00", "ѕtatement"]))
ARGS = st.dictionaries(ARG_KEYS, ARG_VALUES, max_size=5)
TOOLS = st.one_of(st.text(max_size=20), HOSTILE_TEXT,
                  st.sampled_from(["run_sql", "shell", "*", "[", "issue_refund", "", "run_sql\n"]))

DENY_ALL = [
    {"rule": [{"name": "no", "tool": "*", "action": "deny"}]},
    {"rule": [{"name": "no", "tool": "*", "action": "deny"}, {"name": "yes", "tool": "*", "action": "allow"}]},
]
DENY_DROP_THEN_ALLOW = {"rule": [
    {"name": "no drop", "tool": "run_sql", "when": ['statement ~ "(?i)drop"'], "action": "deny"},
    {"name": "sql", "tool": "run_sql", "action": "allow"},
]}

MISSING = "<no statement field>"  # a marker: every other choice below is not a string
# `statement` missing, or there but not a plain string; with the DROP sometimes hidden elsewhere
NOT_A_STATEMENT = st.one_of(
    st.just(MISSING),
    ARG_VALUES.filter(lambda v: not isinstance(v, str)),
    st.sampled_from([["DROP TABLE users"], {"statement": "DROP TABLE users"}, {"sql": "drop"}, 0, -1,
                     10**30, 1e308, math.nan, True, None, [], {}]),
)


@PROPS
@given(TOOLS, ARGS)
def test_deny_everything_never_allows(tool: str, args: dict[str, Any]) -> None:
    """A policy whose first rule denies every tool never answers allow."""
    for shape in DENY_ALL:
        assert parse_policy(shape).evaluate(tool, args).action != "allow", shape


@PROPS
@given(ARGS.map(lambda d: {k: v for k, v in d.items() if k != "statement"}), NOT_A_STATEMENT,
       st.sampled_from(["Statement", "stmt", "query", "statement_"]))
def test_deny_that_cannot_be_evaluated_is_not_allow(args: dict[str, Any], statement: Any,
                                                    renamed: str) -> None:
    """`deny run_sql when statement ~ drop` then `allow run_sql`: without a plain string
    `statement` the deny cannot be checked, and the call must not be allowed."""
    args = dict(args)
    if statement is not MISSING:
        args["statement"] = statement
    else:
        args[renamed] = "DROP TABLE users"  # the dangerous text under another name
    assert not isinstance(args.get("statement"), str)
    verdict = parse_policy(DENY_DROP_THEN_ALLOW).evaluate("run_sql", args)
    assert verdict.action != "allow", (args, verdict)
