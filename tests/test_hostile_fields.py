"""Every string from an item reaches the terminal only through the one safe-text path.

Keys, values, ids, tool names, flag reasons, tags, document titles, and the footers, hints
and errors that quote them: a generator puts hostile text (escape sequences, C1 controls,
bidi overrides, NUL, DEL, Rich markup) into one field (or one dict key) of an item at a time,
then every CLI output and every TUI screen that can show it is checked for raw control
characters. A name (id, queue, tag, reason, tool) may instead be refused by validation; then
the refusal itself must quote it safely.
"""

from __future__ import annotations

import asyncio
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError
from tuikit import NOW, SIZE, app_for

from reviewer.cli import cli
from reviewer.models import ActionItem, OutputItem, parse_item
from reviewer.screens.dialogs import (
    ArgumentsEditor,
    CorrectScreen,
    FullTextScreen,
    HelpScreen,
    RejectDialog,
    TypedConfirm,
)
from reviewer.screens.queue_list import QueueList
from reviewer.screens.queue_screen import QueueScreen
from reviewer.screens.review_screen import ReviewScreen
from reviewer.storage import SqlQueue
from reviewer.storage.peek import peek

# Free text: every kind of terminal attack at once. Each control character is followed by a
# token (`]0;PWNED`, `31mC1`, `RLO`, ...) so that the output shows which way it was written.
HOSTILE = ("HX \x1b]0;PWNED\x07 \x1b[2J\x1b[H \x9b31mC1 \u202eRLO\u202c \x00NUL \x7fDEL "
           "[bold red]x[/] [/] end")
# A name without C0/DEL (which names never accept): C1, bidi and markup only.
HOSTILE_NAME = "HN\x9b31mC1\u202eRLO\u2069[bold red]x[/][/]"
NAME_PLACES = {("id",), ("queue",), ("tags", 0), ("flags", 0, "reason"), ("action", "tool")}
# Not free text: literals and timestamps, refused whatever text they get.
NOT_TEXT = {("kind",), ("risk",), ("on_timeout",), ("created_at",), ("expires_at",)}

_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def raw_controls(text: str) -> list[str]:
    """The raw control, C1, DEL and bidi characters in `text` (newline and tab are fine)."""
    return _RAW.findall(text)


# The documented way a control character is shown (`\x1b`, README), or its JSON spelling
# (`\u001b`, inside JSON and repr()): what must come right before each token of HOSTILE.
_SPELLINGS = {
    "]0;PWNED": ("\\x1b", "\\u001b"),
    "[2J": ("\\x1b", "\\u001b"),
    "31mC1": ("\\x9b", "\\u009b"),
    "RLO": ("\\u202e",),
    "NUL": ("\\x00", "\\u0000"),
    "DEL": ("\\x7f", "\\u007f"),
}


def unescaped(text: str) -> list[str]:
    """Tokens of HOSTILE shown without their control character spelled out visibly before
    them: the character was dropped, replaced (`␛`), or drawn by a path other than safe text.

    A dialog drawn over a screen can hide the start of a spelling (`█x9b31mC1`), so the end
    of one is enough. Storage replaces NUL by a space in the derived snippet and search text
    (PostgreSQL text cannot hold NUL), so ` NUL` is fine too.
    """
    out = []
    for token, spellings in _SPELLINGS.items():
        ends = tuple({sp[i:] for sp in spellings for i in range(len(sp))})
        for m in re.finditer(re.escape(token), text):
            before = text[: m.start()]
            if not (before.endswith(ends) or token == "NUL" and before.endswith(" ")):
                out.append(repr(text[max(0, m.start() - 30) : m.end() + 10]))
    return out


def snippets(text: str, at_most: int = 3) -> list[str]:
    """Where raw characters occur, as reprs of the surrounding text (for failure messages)."""
    out: list[str] = []
    last = -1
    for m in _RAW.finditer(text):
        if m.start() <= last:
            continue
        start, end = max(0, m.start() - 30), min(len(text), m.end() + 30)
        out.append(repr(text[start:end]))
        last = end
        if len(out) == at_most:
            break
    return out


def problems(outputs: dict[str, str]) -> dict[str, list[str]]:
    """Per output: raw control characters, then tokens that did not go through safe text."""
    found = {}
    for what, text in outputs.items():
        if bad := snippets(text) + [f"not escaped: {u}" for u in unescaped(text)[:3]]:
            found[what] = bad
    return found


# -- the items --------------------------------------------------------------------------


def _common(kind: str) -> dict[str, Any]:
    """Every common field of the wire format, filled with plain text."""
    return {
        "kind": kind,
        "id": "",  # set per case
        "queue": "",  # set per case
        "priority": 0,
        "tags": ["plain-tag"],
        "source": {"app": "plainapp", "trace_id": "tr-1", "span_id": "sp-1", "model": "gpt-x",
                   "provider": "prov", "latency_ms": 12.0, "cost_usd": 0.01, "region": "eu-1"},
        "flags": [{"reason": "judge.plain", "score": 0.2, "detail": "plain detail"}],
        "input": {
            "messages": [
                {"role": "system", "content": "Be precise."},
                {"role": "user", "content": "plain question", "name": "bob",
                 "tool_calls": [{"id": "call-1", "type": "function",
                                 "function": {"name": "lookup", "arguments": {"q": "plain"}}}]},
            ],
            "text": "plain input text",
        },
        "context": {
            "documents": [{"id": "doc-1", "title": "Plain title", "text": "plain document text",
                           "url": "https://docs.example/1"}],
            "metadata": {"meta_key": "plain meta", "nested": {"inner": "plain inner", "list": ["one"]}},
        },
        "created_at": (NOW - timedelta(minutes=5)).isoformat(),
    }


def base_output() -> dict[str, Any]:
    return {**_common("output"), "output": "plain output words", "reference": "plain reference words"}


def base_action() -> dict[str, Any]:
    return {
        **_common("action"),
        "action": {
            "tool": "plain_tool",
            "arguments": {"command": "plain command", "nested": {"inner": "plain arg"}, "list": ["one"]},
            "rationale": "plain rationale words",
            "preview": {"path": "plain/path.txt", "before": "old plain line\n", "after": "new plain line\n"},
        },
        "risk": "critical",  # a critical approve shows the typed confirmation, quoting the tool
        "on_timeout": "reject",
        "expires_at": (NOW + timedelta(minutes=30)).isoformat(),
    }


Place = tuple[str | int, ...]


def places(node: Any, path: Place = ()) -> Iterator[tuple[Place, str]]:
    """Every string value (`value`) and every dict (`key`: a hostile key goes there)."""
    if isinstance(node, dict):
        yield path, "key"
        for k, v in node.items():
            yield from places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from places(v, (*path, i))
    elif isinstance(node, str):
        yield path, "value"


def _set(data: dict[str, Any], path: Place, what: str, text: str) -> None:
    node: Any = data
    for part in path[:-1] if what == "value" else path:
        node = node[part]
    if what == "value":
        node[path[-1]] = text
    else:
        node[text] = "plain value of a hostile key"


@dataclass
class Case:
    name: str  # e.g. "output:source{key}" or "action:action.tool[name]"
    path: Place
    what: str  # "value" or "key"
    data: dict[str, Any]
    item: OutputItem | ActionItem | None  # None: refused by validation
    error: ValidationError | None

    @property
    def item_id(self) -> str:
        return self.data["id"]

    @property
    def queue(self) -> str:
        return self.data["queue"]

    @property
    def id_marker(self) -> str:
        """What of the id stays visible once escaped."""
        return self.item_id[:2] if self.item_id.startswith(("HX", "HN")) else self.item_id

    @property
    def queue_marker(self) -> str:
        return self.queue[:2] if self.queue.startswith(("HX", "HN")) else self.queue


def _dotted(path: Place) -> str:
    return ".".join(str(p) for p in path)


def _case(name: str, path: Place, what: str, data: dict[str, Any]) -> Case:
    try:
        return Case(name, path, what, data, parse_item(data), None)
    except ValidationError as e:
        return Case(name, path, what, data, None, e)


def make_cases() -> list[Case]:
    """One item per (kind, place, variant): exactly one field or one dict key holds hostile
    text. Then, per kind, one item with every place that was stored hostile at once."""
    cases: list[Case] = []
    for kind, base in (("output", base_output), ("action", base_action)):
        stored: list[tuple[Place, str]] = []
        for path, what in places(base()):
            variants = [("", HOSTILE)]
            if what == "value" and path in NAME_PLACES:
                variants.append(("[name]", HOSTILE_NAME))
            for suffix, text in variants:
                n = len(cases)
                data = base()
                data["id"], data["queue"] = f"hx-{n:03d}", f"q{n:03d}"
                if path in (("id",), ("queue",)):
                    text = f"{text}-{n:03d}"  # ids and queues stay unique per case
                _set(data, path, what, text)
                name = f"{kind}:{_dotted(path)}" + ("{key}" if what == "key" else "") + suffix
                cases.append(_case(name, path, what, data))
                if cases[-1].item is not None and not suffix and path not in (("id",), ("queue",)):
                    stored.append((path, what))
        data = base()
        data["id"], data["queue"] = f"hx-all-{kind}", f"q-all-{kind}"
        for path, what in sorted(stored, key=lambda pw: pw[1] == "value"):  # keys first
            _set(data, path, what, HOSTILE)
        cases.append(_case(f"{kind}:*all*", (), "all", data))
    return cases


CASES = make_cases()
ACCEPTED = [c for c in CASES if c.item is not None]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _holds_text(annotation: Any) -> bool:
    if annotation in (str, dict) or typing.get_origin(annotation) is dict:
        return True
    return any(_holds_text(a) for a in typing.get_args(annotation))


def model_text_places(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every field of `model` (nested) that holds a string or a dict (list indexes dropped)."""
    out: set[tuple[str, ...]] = set()
    for name, f in model.model_fields.items():
        path = (*prefix, name)
        if subs := _models_in(f.annotation):
            for sub in subs:
                out |= model_text_places(sub, path)
        elif _holds_text(f.annotation):
            out.add(path)
    return out


def test_the_generator_covers_every_text_field_of_the_wire_models() -> None:
    """A new string field in the models must get a hostile case too."""
    for model, base in ((OutputItem, base_output()), (ActionItem, base_action())):
        covered = {tuple(p for p in path if isinstance(p, str)) for path, _ in places(base)}
        missing = model_text_places(model) - covered
        assert not missing, f"{model.__name__}: no hostile case for {sorted(missing)}"
    assert len(ACCEPTED) > 40 and any(c.item is None for c in CASES)
    assert all(c.item is not None for c in CASES if c.what == "all")


def test_raw_controls_and_unescaped_see_every_attack() -> None:
    assert set(raw_controls(HOSTILE)) == {"\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\x00", "\x7f"}
    assert raw_controls("plain\ttext\nnext line é ✓ ⏎ \\x1b") == []
    assert raw_controls("\u2028\u2066\x85") == ["\u2028", "\u2066", "\x85"]
    assert len(unescaped(HOSTILE)) == len(_SPELLINGS)
    spelled = "".join(f"\\x{ord(ch):02x}" if ch in "\x1b\x07\x9b\x00\x7f" else
                      f"\\u{ord(ch):04x}" if ch in "\u202e\u202c" else ch for ch in HOSTILE)
    assert unescaped(spelled) == [] and unescaped(json.dumps(HOSTILE)) == []
    assert len(unescaped(spelled.replace("\\x1b", "␛").replace("\\x7f", ""))) == 3
    assert unescaped("█x9b31mC1 █]0;PWNED") == [repr("█x9b31mC1 █]0;PWNED")]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_only_names_and_unknown_keys_may_be_refused(case: Case) -> None:
    """Free text is data and is stored as it is; a refusal must point at the hostile field."""
    if case.item is not None:
        return
    assert case.error is not None
    if case.what == "value":
        assert case.path in NAME_PLACES | NOT_TEXT, f"free text refused: {case.error}"
    if case.path == ("kind",):
        return  # the discriminator itself: pydantic reports it at the item
    wanted = (*case.path, *(() if case.what == "value" else (_key_in(case),)))
    locs = [tuple(e["loc"][1:]) for e in case.error.errors()]
    assert wanted in locs, f"refused elsewhere: {locs} ({case.error})"


def _key_in(case: Case) -> str:
    node: Any = case.data
    for part in case.path:
        node = node[part]
    return next(k for k in node if k.startswith("HX"))


# -- CLI --------------------------------------------------------------------------------

# click's own styling on a terminal: red `error:` lines, and a reset after every styled echo
_CLICK_STYLE = re.compile(r"^\x1b\[31m(?=error: )|\x1b\[0m$", re.M)
BAD_KEY = "\x1b]0;PWNED\x07bad\x9b31mC1\u202eRLO"


def shown(result: Any) -> str:
    """stdout and stderr, without the colour codes click itself adds (red errors, a reset at
    the end of each echo); nothing else is removed."""
    return _CLICK_STYLE.sub("", result.stdout + result.stderr)


def on_the_real_clock(data: Any) -> Any:
    """The base action's deadline, 30 minutes from now: the CLI runs on the real clock, which
    refuses one more than 30 days away (the TUI cases run on the fixed NOW)."""
    if isinstance(data, dict) and data.get("kind") == "action" and data.get("expires_at") == base_action()["expires_at"]:
        return {**data, "expires_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat()}
    return data


def but_the_deadline(item: Any) -> Any:
    return item.model_copy(update={"expires_at": None}) if isinstance(item, ActionItem) else item


class CliWorld:
    """A SQLite queue filled through `reviewer ingest` from one JSONL file of all cases."""

    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'q.db'}"
        self.runner = CliRunner()
        self.path = tmp / "hostile.jsonl"
        self.line_of: dict[str, int] = {}
        lines: list[str] = []
        for n, c in enumerate(CASES):
            self.line_of[c.name] = len(lines) + 1
            lines.append(json.dumps(on_the_real_clock(c.data)))
            if c.item is not None:
                # a plain item behind it in its queue, so `list --limit 1` quotes the hostile id
                lines.append(json.dumps({**base_output(), "id": f"filler-{n}", "queue": c.queue,
                                         "priority": 9}))
        self.bad_keys: dict[str, int] = {}
        for where in ("item", "flag", "input", "context", "preview"):
            d: dict[str, Any] = {"kind": "output", "output": "x", "flags": [{"reason": "r"}],
                                 "input": {}, "context": {}}
            if where == "preview":
                d = {"kind": "action", "action": {"tool": "t", "preview": {"before": "", "after": ""}}}
            target = {"item": d, "flag": d.get("flags", [{}])[0], "input": d.get("input"),
                      "context": d.get("context"), "preview": d.get("action", {}).get("preview")}[where]
            target[BAD_KEY] = 1
            self.bad_keys[where] = len(lines) + 1
            lines.append(json.dumps(d, ensure_ascii=where != "context"))  # raw UTF-8 C1/bidi too
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.ingest = self.run("ingest", str(self.path))
        self.ingest_json = self.run("ingest", "--json", str(self.path))
        self.errors: dict[int, list[str]] = {}
        for ln in shown(self.ingest).splitlines():
            if m := re.search(r": line (\d+): ", ln):
                self.errors.setdefault(int(m.group(1)), []).append(ln)

    def run(self, *args: str) -> Any:
        """`reviewer --db URL ARGS`, as on a terminal (colour on, so click strips nothing)."""
        return self.runner.invoke(cli, ["--db", self.url, *args], color=True, catch_exceptions=False,
                                  env={"REVIEWER_NAME": "tester"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> CliWorld:
    return CliWorld(tmp_path_factory.mktemp("hostile-cli"))


def test_ingest_summary_and_error_lines_quote_safely(world: CliWorld) -> None:
    refused = [c for c in CASES if c.item is None]
    assert world.ingest.exit_code == 6
    assert f"inserted {2 * len(ACCEPTED)}," in world.ingest.stdout  # with one plain filler each
    assert f"invalid {len(refused) + len(world.bad_keys)}" in world.ingest.stdout
    report = json.loads(world.ingest_json.stdout)
    assert report["invalid"] == len(refused) + len(world.bad_keys)
    assert len(report["errors"]) == report["invalid"]
    bad = problems({"ingest": shown(world.ingest), "ingest --json": shown(world.ingest_json)})
    assert not bad, bad


@pytest.mark.parametrize("where", ["item", "flag", "input", "context", "preview"])
def test_ingest_refuses_an_escape_in_an_unknown_key_and_quotes_it_safely(world: CliWorld, where: str) -> None:
    errors = world.errors.get(world.bad_keys[where])
    assert errors, f"line {world.bad_keys[where]} ({where}) was not refused:\n{world.ingest.stderr}"
    assert "PWNED" in errors[0], f"the error does not say which key: {errors[0]}"
    bad = problems({"ingest error": "\n".join(errors)})
    assert not bad, bad


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_shows_the_field_safely(world: CliWorld, case: Case) -> None:
    """The ingest error if refused; else list, show, their --json, decide and undo."""
    errors = world.errors.get(world.line_of[case.name], [])
    if case.item is None:
        assert errors, f"refused by parse_item but ingest did not report line {world.line_of[case.name]}"
        bad = problems({"ingest error": "\n".join(errors)})
        assert not bad, f"{case.name}: {bad}"
        return
    assert not errors, errors
    q = case.item_id
    # a critical action is approved with its tool's name typed (the tool may be the hostile text)
    confirm = ["--confirm", case.item.action.tool] if isinstance(case.item, ActionItem) else []
    runs = {
        "list": world.run("list", "--queue", case.queue, "--limit", "1", "--order", "priority"),
        "list --json": world.run("list", "--queue", case.queue, "--json"),
        "show": world.run("show", q),
        "show --json": world.run("show", q, "--json"),
        "decide --approve": world.run("decide", q, "--approve", *confirm, "--reviewer", "tester"),
        "decide again (an error)": world.run("decide", q, "--approve", *confirm, "--reviewer", "tester"),
        "show after decide": world.run("show", q),
        "undo": world.run("undo", q, "--reviewer", "tester"),
        "undo again (an error)": world.run("undo", q, "--reviewer", "tester"),
    }
    out = {what: shown(r) for what, r in runs.items()}
    bad = problems(out)
    assert not bad, f"{case.name}: {bad}"
    # and the commands did their job: the checks above saw the item
    codes = {what: r.exit_code for what, r in runs.items()}
    assert codes == {**dict.fromkeys(runs, 0), "decide again (an error)": 4,
                     "undo again (an error)": 4}, out
    assert case.id_marker[:20] in runs["list"].stdout and "more with --after" in runs["list"].stderr
    assert case.id_marker in runs["show"].stdout and "plain" in runs["show"].stdout
    mine = next(x for x in map(json.loads, runs["list --json"].stdout.splitlines()) if x["id"] == q)
    assert (mine["queue"], mine["tags"], [f["reason"] for f in mine["flags"]]) == (
        case.item.queue, case.item.tags, [f.reason for f in case.item.flags])
    if isinstance(case.item, ActionItem):
        assert mine["tool"] == case.item.action.tool
    shown_item = parse_item(json.loads(runs["show --json"].stdout)["item"])
    assert but_the_deadline(shown_item) == but_the_deadline(case.item)  # round-trips


def test_cli_list_and_stats_of_the_whole_queue(world: CliWorld) -> None:
    out: dict[str, str] = {}
    codes: dict[str, int] = {}
    for args in (["list", "--limit", "1000"], ["list", "--json", "--limit", "1000"],
                 ["stats"], ["stats", "--json"]):
        r = world.run(*args)
        out[" ".join(args)], codes[" ".join(args)] = shown(r), r.exit_code
    bad = problems(out)
    assert not bad, bad
    assert set(codes.values()) == {0}, out
    ids = {json.loads(x)["id"] for x in out["list --json --limit 1000"].splitlines()}
    assert {c.item_id for c in ACCEPTED} <= ids


@pytest.mark.parametrize("text", [HOSTILE, HOSTILE_NAME], ids=["hostile", "name"])
@pytest.mark.parametrize("args", [
    ["show", "{}"], ["show", "{}", "--json"], ["decide", "{}", "--approve"],
    ["decide", "{}", "--reject", "--reason", "wrong"], ["undo", "{}"],
    ["list", "--after", "{}"], ["list", "--queue", "{}"], ["list", "--tag", "{}"], ["list", "--flag", "{}"],
    ["flag", "--id", "{}", "--output", "x", "--reason", "r"],
    ["flag", "--output", "x", "--reason", "{}"], ["flag", "--output", "x", "--reason", "r", "--tag", "{}"],
    ["flag", "--output", "x", "--reason", "r", "--queue", "{}"],
], ids=lambda a: "-".join(x.strip("-") for x in a if x != "{}"))
def test_cli_messages_that_quote_a_hostile_argument(world: CliWorld, args: list[str], text: str) -> None:
    """Errors (no such item, bad name) and confirmations that echo an id or name given on the
    command line."""
    arg = f"missing-{text}" if args[0] != "flag" else text
    r = world.run(*[arg if a == "{}" else a for a in args])
    bad = problems({" ".join(args): shown(r)})
    assert not bad, bad


# -- TUI --------------------------------------------------------------------------------


def screen_lines(app: Any) -> list[str]:
    """Exactly the characters the compositor sends to the terminal, line by line, for the
    whole screen (a modal screen with the screens behind it), without its cursor moves."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return ["".join(seg.text for strip in line for seg in strip if not seg.control)
            for line in update.strips]


def screen_text(app: Any) -> str:
    return "\n".join(screen_lines(app))


async def _show(pilot: Any, until: Any = None, timeout: float = 20.0, step: str = "") -> None:
    """Wait until `until()` holds, then until the screen is laid out and drawn.

    `pilot.pause(0)` processes pending messages and updates the screen; unlike `pilot.press`
    it does not wait for the whole process to go idle (which made the walk minutes long).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await pilot.pause(0)
        if until is None or until():
            break
        if loop.time() > deadline:
            raise AssertionError(f"the app did not settle after {step or 'waiting'}; the screen "
                                 f"shows:\n{screen_text(pilot.app)}")
        await asyncio.sleep(0.005)
    await pilot.pause(0)


async def _press(pilot: Any, key: str, until: Any = None) -> None:
    """Press `key` (through the app's key handling and bindings) and wait for `until()`."""
    pilot.app.simulate_key(key)
    await _show(pilot, until, step=f"pressing {key!r} on {type(pilot.app.screen).__name__}")


def _field(case: Case) -> str:
    return case.name.split(":", 1)[1]


def _modals(case: Case) -> list[tuple[str, type, str]]:
    """The dialogs where this case's field can show (all of them for the all-hostile items)."""
    field, every = _field(case), case.what == "all"
    out: list[tuple[str, type, str]] = []
    if every:
        out += [("r", RejectDialog, "Reject: why?"), ("question_mark", HelpScreen, "Keys: review")]
    if case.data["kind"] == "output" and (every or field == "output"):
        out += [("c", CorrectScreen, "Correct the output"), ("v", FullTextScreen, "esc: close")]
    if case.data["kind"] == "action" and (every or field.startswith(("action.arguments", "action.tool"))):
        out.append(("e", ArgumentsEditor, "Approve with edits: "))
    if case.data["kind"] == "action" and (every or field.startswith("action.tool")):
        out.append(("a", TypedConfirm, "Type the tool name"))
    return out


def _toggles_main(case: Case) -> bool:
    """Does `d` (output / inline diff / side by side) change how this field is drawn?"""
    return case.what == "all" or _field(case).startswith(("output", "reference", "action.preview"))


Shots = dict[str, dict[str, str]]


async def _walk(app: Any, cases: list[Case]) -> Shots:
    """Show every hostile item in the real app and capture each screen it appears on."""
    by_id = {c.item_id: c for c in cases}
    shots: Shots = {c.name: {} for c in cases}
    shots["*filters"] = {}
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts quote ids
        def lst() -> QueueList:
            return app.screen.query_one(QueueList)

        def queue_ready() -> bool:
            return (isinstance(app.screen, QueueScreen) and bool(app.screen.query(QueueList))
                    and lst().total == len(cases) and lst().summary_at(len(cases) - 1) is not None)

        await _show(pilot, lambda: queue_ready() and app.screen.facets_loaded
                    and len(app.screen.query_one("#f-queue")._options) > 2)
        # the filter bar's option lists (queues, flag reasons, tags)
        for sel_id in ("#f-queue", "#f-flag", "#f-tag"):
            sel = app.screen.query_one(sel_id)
            sel.expanded = True
            await _show(pilot)
            shots["*filters"][sel_id] = screen_text(app)
            sel.expanded = False
        # the queue list, a page at a time: each drawn row goes to the item it shows
        rows = lst()
        rows.focus()
        top = 0
        while top < rows.total:
            rows.scroll_to(y=top, animate=False, immediate=True)
            await _show(pilot, lambda t=top: rows.scroll_offset.y == min(t, rows.max_scroll_y))
            lines, area = screen_lines(app), rows.scrollable_content_region
            for y in range(area.height):
                index = rows.scroll_offset.y + y
                if index < rows.total:
                    case = by_id[rows.summary_at(index).id]
                    shots[case.name]["queue row"] = lines[area.y + y]
            top += area.height
        # the review screen: open the first item, then `n` through all of them
        rows.cursor = 0
        await _press(pilot, "enter", lambda: isinstance(app.screen, ReviewScreen)
                     and app.screen.item is not None and app.screen.lease is not None)
        review = app.screen
        while review.item is not None:
            case = by_id[review.item.id]
            s = shots[case.name]
            s[f"review screen ({review.mode})"] = screen_text(app)
            # a long item: page the scrolling panes down to their ends, capturing each page
            panes = [p for p in (review.query_one("#context"), review.query_one("#main-scroll"))
                     if p.display and p.max_scroll_y > 0]
            for page in range(1, 20):
                todo = [p for p in panes if p.scroll_y < p.max_scroll_y]
                if not todo:
                    break
                for p in todo:
                    p.scroll_to(y=min(p.max_scroll_y, p.scroll_y + max(1, p.scrollable_content_region.height - 1)),
                                animate=False, immediate=True)
                await _show(pilot)
                s[f"scrolled, page {page}"] = screen_text(app)
            for p in panes:
                p.scroll_home(animate=False, immediate=True)
            await _show(pilot, lambda ps=panes: all(p.scroll_y == 0 for p in ps))
            if _toggles_main(case):
                for _ in range(2):
                    await _press(pilot, "d", lambda m=review.mode: review.mode != m)
                    s[f"review screen ({review.mode})"] = screen_text(app)
            for key, screen_type, _ in _modals(case):
                await _press(pilot, key, lambda t=screen_type: isinstance(app.screen, t))
                s[screen_type.__name__] = screen_text(app)
                await _press(pilot, "escape", lambda: app.screen is review)
            await _press(pilot, "n", lambda i=case.item_id: review.item is None
                         or (review.item.id != i and review.lease is not None))
        # approve, then undo: the toast quotes the item's id
        await _press(pilot, "q", queue_ready)
        for case in cases:
            if case.data["kind"] != "output" or not (case.path == ("id",) or case.what == "all"):
                continue
            rows = lst()
            rows.cursor = next(i for i in range(rows.total) if rows.summary_at(i).id == case.item_id)
            await _press(pilot, "enter", lambda i=case.item_id: isinstance(app.screen, ReviewScreen)
                         and app.screen.item is not None and app.screen.item.id == i
                         and app.screen.lease is not None)
            await _press(pilot, "a", lambda i=case.item_id: app.history == [i])
            await _press(pilot, "u", lambda i=case.item_id: not app.history and app.screen.item is not None
                         and app.screen.item.id == i and app.screen.lease is not None
                         and any("Undone" in line for line in screen_lines(app)))
            shots[case.name]["after undo (toast)"] = screen_text(app)
            app.clear_notifications()
            await _press(pilot, "q", queue_ready)
    return shots


@pytest.fixture(scope="module")
def tui_shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    """One app on a queue of every stored hostile item, walked once; screens by case name."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile-tui') / 'tui.db'}"
    queue = SqlQueue.open(url)
    try:
        queue.enqueue_many([c.item for c in ACCEPTED])
        app = app_for(queue, peek=lambda: peek(url))
        return asyncio.run(_walk(app, ACCEPTED))
    finally:
        queue.close()


# Fields no screen shows (so their text cannot be looked for on screen).
NOT_SHOWN = ("input.messages.0{key}", "input.messages.1{key}", "input.messages.1.name",
             "context.documents.0{key}", "context.documents.0.url")


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_tui_shows_the_field_safely(tui_shots: Shots, case: Case) -> None:
    """Queue row, review screen (each diff mode where it matters), dialogs, help, toasts."""
    shots = dict(tui_shots[case.name])
    field = _field(case)
    for sel_id, name in (("#f-queue", "queue"), ("#f-flag", "flags.0.reason"), ("#f-tag", "tags.0")):
        if field.startswith(name) or case.what == "all":
            shots[f"filter {sel_id} options"] = tui_shots["*filters"][sel_id]
    bad = problems(shots)
    assert not bad, f"{case.name}: {bad}"
    # the captures really show this item: otherwise the check above proved nothing
    assert case.queue_marker in shots["queue row"], shots["queue row"]
    reviews = [k for k in shots if k.startswith("review screen")]
    assert len(reviews) == (3 if _toggles_main(case) else 1), list(shots)
    for k in reviews:
        assert case.id_marker in shots[k] and "Why it is here" in shots[k], f"{k}:\n{shots[k]}"
    pages = [k for k in shots if k.startswith("scrolled")]
    for k in pages:
        assert case.id_marker in shots[k], f"{k}:\n{shots[k]}"
    if pages:
        assert "Metadata" in shots[pages[-1]], f"{pages[-1]}:\n{shots[pages[-1]]}"
    for _, screen_type, label in _modals(case):
        assert label in shots[screen_type.__name__], f"{screen_type.__name__}:\n{shots[screen_type.__name__]}"
    if field not in NOT_SHOWN:
        marker = "HN" if field.endswith("[name]") else "HX"
        assert any(marker in text for text in shots.values()), f"the hostile text is shown nowhere: {list(shots)}"


def test_tui_capture_sees_item_text(tui_shots: Shots) -> None:
    """The screen capture is not vacuous: plain and escaped item text both show up."""
    review = tui_shots["output:output"]["review screen (output)"]
    assert "plain question" in review and "plain document text" in review and "Plain title" in review
    assert "HX \\x1b]0;PWNED\\x07" in review and "red]x[/]" in review  # markup shown, not applied
    action = tui_shots["action:action.rationale"]["review screen (output)"]
    assert "plain_tool" in action and "plain command" in action and "HX \\x1b" in action
