"""Two approvers: the second one sees, in the action pane and in the typed confirmation, the
arguments their approval will run (the first approver's edit), as a diff against the agent's."""

from __future__ import annotations

from tuikit import ACTIONS, SIZE, clock, open_item, screen_text, settle

from reviewer.models import DecisionIn, QueueSettings
from reviewer.screens import make_app
from reviewer.screens.dialogs import TypedConfirm
from reviewer.storage import SqlQueue

AGENT_IBAN = "DE89370400440532013000"  # what the agent asked for (tuikit's pay-1)
EDITED_IBAN = "NL91ABNA0417164300"  # the vendor's IBAN on file, as the first approver set it


def first_approval_edits_the_iban(tmp_path) -> SqlQueue:
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    q.set_queue_settings("payments", QueueSettings(two_approvers=True), actor="admin")
    q.enqueue_many(ACTIONS)
    args = q.get("pay-1").item.action.arguments
    assert args["to_iban"] == AGENT_IBAN
    q.decide("pay-1", DecisionIn(verdict="correct", reviewer="alice", arguments={**args, "to_iban": EDITED_IBAN},
                                 comment="paid to the IBAN on file"))
    assert (q.get("pay-1").status, q.get("pay-1").approvals) == ("pending", 1)
    return q


def diff_lines(text: str, iban: str) -> list[str]:
    return [ln.strip()[:1] for ln in text.splitlines() if iban in ln and ln.strip()[:1] in "-+"]


async def test_the_second_approver_sees_and_confirms_the_edited_arguments(tmp_path):
    q = first_approval_edits_the_iban(tmp_path)
    app = make_app(lambda: q, reviewer="bob", config={}, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "pay-1")
        assert screen.lease is not None, "bob holds the item"
        main = screen_text(app).split("Arguments that will run", 1)
        assert len(main) == 2, "the action pane says which arguments run"
        pane = main[1]
        assert "edited by alice" in pane and "1 of 2 approvals" in pane
        assert pane.index(EDITED_IBAN) < pane.index("Changed from the agent's request")
        # the agent's IBAN appears only as the removed side of the diff, the edit as the added side
        assert diff_lines(pane, AGENT_IBAN) == ["-"] and diff_lines(pane, EDITED_IBAN) == ["+"]
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        dialog = screen_text(app)
        assert "transfer_funds" in dialog and "edited by alice" in dialog
        assert diff_lines(dialog, AGENT_IBAN) == ["-"] and diff_lines(dialog, EDITED_IBAN) == ["+"]
        await pilot.press(*"transfer_funds", "enter")
        await settle(pilot, lambda: q.get("pay-1").status == "decided")
    d = q.get("pay-1").decisions[-1]
    assert (d.reviewer, d.arguments["to_iban"]) == ("bob", EDITED_IBAN)


async def test_an_approval_without_edits_shows_the_agents_arguments_as_they_are(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}", clock=clock)
    q.set_queue_settings("payments", QueueSettings(two_approvers=True), actor="admin")
    q.enqueue_many(ACTIONS)
    q.decide("pay-1", DecisionIn(verdict="approve", reviewer="alice"))
    app = make_app(lambda: q, reviewer="bob", config={}, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "pay-1")
        text = screen_text(app)
        assert AGENT_IBAN in text and "Changed from the agent's request" not in text
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        assert "edited by" not in screen_text(app)


def test_reviewer_show_says_which_arguments_a_second_approval_runs(tmp_path):
    from click.testing import CliRunner

    from reviewer.cli import cli

    first_approval_edits_the_iban(tmp_path).close()
    r = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'q.db'}", "show", "pay-1"])
    assert r.exit_code == 0, r.output
    shown = r.output.split("[arguments that will run, edited by alice", 1)
    assert len(shown) == 2
    lines = shown[1].splitlines()
    assert f'-  "to_iban": "{AGENT_IBAN}"' in lines and f'+  "to_iban": "{EDITED_IBAN}"' in lines


async def test_the_second_approvers_editor_starts_from_the_arguments_that_would_run(tmp_path):
    from textual.widgets import TextArea

    from reviewer.screens.dialogs import ArgumentsEditor

    q = first_approval_edits_the_iban(tmp_path)
    app = make_app(lambda: q, reviewer="bob", config={}, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "pay-1")
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        text = app.screen.query_one(TextArea).text
        assert EDITED_IBAN in text and AGENT_IBAN not in text  # not a silent step back to the agent's IBAN
