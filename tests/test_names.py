"""Reviewer names compare by one normalised form: a reserved name cannot be spelled with
lookalike characters, and one person cannot be two approvers by changing a letter's case."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.errors import Conflict, Invalid
from reviewer.models import DecisionIn, QueueSettings
from reviewer.storage import SqlQueue

from factories import action

SPOOFS = [
    "ｓｙｓｔｅｍ",  # fullwidth
    "s\u0443stem",  # Cyrillic u
    "\u0455ystem",  # Cyrillic dze
    "system\u200b",  # a zero-width space after it
    "sys\u200dtem",  # a zero-width joiner inside
    "sy\u00adstem",  # a soft hyphen
    "\U0001d42c\U0001d432\U0001d42c\U0001d42d\U0001d41e\U0001d426",  # mathematical bold
    "SYSTEM",
    "policy\uff1ax",  # fullwidth colon
    "policy\ufe55x",  # small colon
    "p\u043elicy:x",  # Cyrillic o
    "\u200bpolicy:auto",
]
OTHER_ALICE = ["Alice", "ALICE", "alic\u0435", "ａｌｉｃｅ", "alice\u200b", " alice "]


@pytest.fixture
def q(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    queue.set_queue_settings("payments", QueueSettings(two_approvers=True), actor="admin")
    queue.enqueue_many([action("high", queue="payments"),
                        action("crit", queue="payments", risk="critical",
                               action={"tool": "transfer_funds", "arguments": {"to_iban": "DE89370400440532013000"}})])
    yield queue
    queue.close()


@pytest.mark.parametrize("name", SPOOFS)
def test_a_reserved_name_spelled_with_lookalikes_is_refused(q, name):
    with pytest.raises(Invalid, match="reserved"):
        q.decide("act-high", DecisionIn(verdict="approve", reviewer=name))
    assert q.get("act-high").status == "pending"


def test_the_cli_refuses_a_spoofed_system_name(q, tmp_path):
    r = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'q.db'}", "decide", "act-high", "--approve",
                                 "--reviewer", "s\u0443stem"])
    assert r.exit_code != 0 and "reserved" in r.output
    assert q.get("act-high").status == "pending"


@pytest.mark.parametrize("name", ["alice", "Zoë", "José", "李雷", "o'brien", "policy-team", "systems", "bob.smith"])
def test_ordinary_names_are_accepted(q, name):
    q.decide("act-high", DecisionIn(verdict="approve", reviewer=name))
    assert q.get("act-high").decisions[-1].reviewer == name  # stored as typed: only compared normalised


@pytest.mark.parametrize("second", OTHER_ALICE)
def test_one_person_spelled_two_ways_is_not_a_second_approver(q, second):
    q.decide("act-crit", DecisionIn(verdict="approve", reviewer="alice"))
    with pytest.raises(Conflict, match="already approved"):
        q.decide("act-crit", DecisionIn(verdict="approve", reviewer=second))
    assert q.get("act-crit").status == "pending"
    q.decide("act-crit", DecisionIn(verdict="approve", reviewer="bob"))
    assert q.get("act-crit").status == "decided"


def test_the_normalised_form_is_one_function():
    from reviewer.rules import name_key

    assert len({name_key(n) for n in ["alice", *OTHER_ALICE]}) == 1
    assert name_key("system") == name_key("ｓｙｓｔｅｍ") == name_key("s\u0443stem")
    assert name_key("alice") != name_key("alicia") and name_key("bob") != name_key("rob")
