"""The action screen: approve, typed confirmation, reject feedback, JSON edits, two approvers."""

from __future__ import annotations

import pytest
from tuikit import ACTIONS, SIZE, act, app_for, loaded, make_queue, open_item, screen_text, settle

from reviewer.models import DecisionIn, QueueSettings, parse_item
from reviewer.screens.dialogs import ArgumentsEditor, ConfirmCorrection, RejectDialog, TypedConfirm
from reviewer.screens.review_screen import ReviewScreen
from reviewer.storage import SqlQueue

from factories import HOSTILE


@pytest.fixture
def queue(tmp_path):
    q = make_queue(tmp_path, ACTIONS)
    yield q
    q.close()


async def test_pending_actions_come_first_with_countdowns(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        kinds = [lst.summary_at(i).kind for i in range(lst.total)]
        assert kinds[:5] == ["action"] * 5 and "output" in kinds
        assert lst.summary_at(0).id == "act-1"  # soonest deadline first (12 minutes)


async def test_action_screen_shows_tool_risk_countdown_arguments(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sh-1")
        text = screen_text(app)
        assert "shell" in text and "HIGH" in text and "30m00s left" in text
        assert "kubectl -n payments rollout restart" in text and "Latency alert" in text
        assert "p95 latency 2.4s" in text


async def test_approve_high_risk_with_one_key(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sh-1")
        await pilot.press("a")
        await settle(pilot, lambda: queue.get("sh-1").status == "decided")
        d = queue.get("sh-1").decisions[-1]
        assert (d.verdict, d.reviewer) == ("approve", "alice")


async def test_critical_needs_the_tool_name_typed(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sql-1")
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        await pilot.press(*"run_sq", "enter")
        assert isinstance(app.screen, TypedConfirm) and queue.get("sql-1").status == "claimed"
        await pilot.press("l", "enter")
        await settle(pilot, lambda: queue.get("sql-1").status == "decided")
        assert queue.get("sql-1").verdict == "approve"


async def test_escape_on_typed_confirmation_approves_nothing(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sql-1")
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        await pilot.press(*"run_sql", "escape")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("sql-1").status == "claimed"


async def test_reject_reasons_and_comment_become_feedback(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sh-1")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        assert app.screen.reasons[0] == "unsafe"  # the action taxonomy
        await pilot.press("1", "tab", *"restart one pod first", "enter")
        await settle(pilot, lambda: queue.get("sh-1").status == "decided")
        d = queue.get("sh-1").decisions[-1]
        assert (d.verdict, d.reasons, d.comment) == ("reject", ["unsafe"], "restart one pod first")


async def test_edit_arguments_shows_diff_and_approves_as_correct(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "file-1")
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        area = app.screen.query_one("TextArea")
        area.text = '{"path": "config/limits.yaml", "content": "rate_limit:\\n  requests_per_minute: 1200\\n"}'
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        assert "1200" in screen_text(app) and "6000" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get("file-1").status == "decided")
        item = queue.get("file-1")
        assert item.verdict == "correct"
        assert item.decisions[-1].arguments["content"] == "rate_limit:\n  requests_per_minute: 1200\n"
        assert item.item.action.arguments["content"].endswith("6000\n")  # the original is kept


@pytest.mark.parametrize(("text", "error"), [
    ('{"path": "x", ', "Not valid JSON"),
    ('["path", "x"]', "must stay a JSON object"),
    ("42", "must stay a JSON object"),
])
async def test_invalid_argument_edits_are_refused_with_the_error_shown(queue, text, error):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "file-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        app.screen.query_one("TextArea").text = text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ArgumentsEditor)
        assert error in str(app.screen.query_one("#arguments-error").render())
        await pilot.press("escape", "escape")  # edited: the second Esc discards the edits
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("file-1").status == "claimed"


async def test_edit_of_a_critical_action_still_needs_the_typed_name(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "pay-1")
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        app.screen.query_one("TextArea").text = (
            '{"from_account": "OPS-EUR-01", "to_iban": "NL91ABNA0417164300", "amount": 48500.0, "currency": "EUR"}')
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        await pilot.press(*"transfer_funds", "enter")
        await settle(pilot, lambda: queue.get("pay-1").status == "decided")
        assert queue.get("pay-1").decisions[-1].arguments["to_iban"] == "NL91ABNA0417164300"


async def test_two_approvers_from_the_tui(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    q.set_queue_settings("payments", QueueSettings(two_approvers=True), actor="admin")
    q.enqueue_many(ACTIONS)
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "pay-1")
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, TypedConfirm))
        await pilot.press(*"transfer_funds", "enter")
        await settle(pilot, lambda: q.get("pay-1").approvals == 1)
        assert q.get("pay-1").status == "pending"
    q.decide("pay-1", DecisionIn(verdict="approve", reviewer="bob"))
    assert q.get("pay-1").status == "decided"


async def test_expired_action_cannot_be_approved(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    q.enqueue(parse_item({"kind": "action", "id": "soon", "risk": "high", "action": {"tool": "shell"},
                          "timeout_s": 3.0}))
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "soon")
        import asyncio

        from reviewer.models import utcnow

        assert app.screen.lease is not None, "opened before the deadline, so claimed"
        left = (q.get("soon").expires_at - utcnow()).total_seconds()
        await asyncio.sleep(max(0.0, left) + 0.2)
        await pilot.press("a")
        await settle(pilot, lambda: q.get("soon").status == "expired")
        await settle(pilot, lambda: "passed its deadline" in screen_text(app))
        await pilot.press("escape")  # dismiss: the screen shows the item as expired
        await settle(pilot, lambda: "already expired" in screen_text(app))
        d = q.get("soon").decisions[-1]
        assert (d.verdict, d.reviewer) == ("reject", "system")


async def test_hostile_arguments_render_inert(tmp_path):
    evil = "\n".join(HOSTILE)
    q = make_queue(tmp_path, [act("evil-act", "shell[/]", {"command": evil, "[bold]": [evil]},
                                  action={"rationale": evil, "preview": {"before": evil, "after": evil + "!"}})])
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "evil-act")
        text = screen_text(app)
        for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
            assert raw not in text
        assert "[@click=app.approve('x')]go[/]" in text
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        assert "\x1b" not in app.screen.query_one("TextArea").text
        await pilot.press("escape")
        await pilot.press("a")
        await settle(pilot, lambda: q.get("evil-act").status == "decided")


async def test_arguments_holding_control_characters_can_be_edited(tmp_path):
    """A C1 character (\\x9b, a CSI) in an argument: shown as a \\u escape, and the editor's
    text saves back to the same value (it used to fail with "Invalid \\escape")."""
    from reviewer.screens.dialogs import ConfirmCorrection

    q = SqlQueue.open(f"sqlite:///{tmp_path / 'c1.db'}")
    q.enqueue(parse_item({"kind": "action", "id": "c1-1", "risk": "high",
                          "action": {"tool": "send_email", "arguments": {"to": "a@b.c", "body": "hi\x9b31m there"}}}))
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "c1-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
        area = app.screen.query_one("TextArea")
        assert "\\u009b" in area.text and "\x9b" not in area.text
        area.text = area.text.replace("a@b.c", "x@y.z")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: q.get("c1-1").status == "decided")
    assert q.get("c1-1").decisions[-1].arguments == {"to": "x@y.z", "body": "hi\x9b31m there"}


async def test_the_footer_says_what_e_does_on_an_action(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "file-1")
        footer = [k.description for k in app.screen.query("FooterKey")]
        assert "Edit args" in footer and "$EDITOR" not in footer
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ArgumentsEditor))
