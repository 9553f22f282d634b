"""The wire format: sample data validates; errors name the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reviewer.ingest import describe
from reviewer.models import ActionItem, OutputItem, parse_item

from conftest import SHARED_DATA


def sample_lines():
    for path in sorted(SHARED_DATA.glob("*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            yield pytest.param(line, id=f"{path.name}:{n}")


@pytest.mark.parametrize("line", list(sample_lines()))
def test_every_shared_sample_validates(line):
    item = parse_item(line)
    assert isinstance(item, OutputItem | ActionItem)


def test_action_defaults():
    item = parse_item({"kind": "action", "action": {"tool": "shell"}})
    assert (item.risk, item.on_timeout, item.queue, item.priority) == ("high", "reject", "default", 2)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "output"}, "output: required field is missing"),
        ({"kind": "action", "action": {"arguments": {}}}, "action.tool: required field is missing"),
        ({"kind": "robot", "output": "x"}, "kind: must be 'output' or 'action', got 'robot'"),
        ({"output": "x"}, "kind: required field is missing"),
        ({"kind": "output", "output": "x", "priority": "high"}, "priority: Input should be a valid integer"),
        ({"kind": "output", "output": "x", "priority": -1}, "priority: Input should be greater than or equal to 0"),
        ({"kind": "output", "output": "x", "flags": [{"score": 1}]}, "flags.0.reason: required field is missing"),
        ({"kind": "action", "action": {"tool": "t"}, "risk": "huge"}, "risk: Input should be"),
        ({"kind": "output", "output": 42}, "output: Input should be a valid string"),
        ({"kind": "output", "output": "x", "tags": ["a\nb"]}, "tags.0: must be a non-empty string without control or bidi characters"),
    ],
)
def test_errors_name_the_field_and_what_was_expected(data, expected):
    with pytest.raises(ValidationError) as e:
        parse_item(data)
    assert describe(e.value).startswith(expected), describe(e.value)


def test_unknown_top_level_field_is_refused():
    with pytest.raises(ValidationError) as e:
        parse_item({"kind": "output", "output": "x", "outptu": "typo"})
    assert "outptu" in describe(e.value)


def test_free_keys_in_source_and_messages_are_kept():
    item = parse_item({"kind": "output", "output": "x", "source": {"app": "a", "retrieval": {"k": 5}},
                       "input": {"messages": [{"role": "tool", "content": "r", "tool_call_id": "c1"}]}})
    assert item.source.model_extra == {"retrieval": {"k": 5}}
    assert item.input.messages[0].model_extra == {"tool_call_id": "c1"}


def test_packaged_samples_match_shared_data():
    from reviewer.demo_data import samples

    shared = [parse_item(x) for p in sorted(SHARED_DATA.glob("*.jsonl")) for x in p.read_text().splitlines()]
    assert {i.id for i in shared} <= {s["id"] for s in samples()}
