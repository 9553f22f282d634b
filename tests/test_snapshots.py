"""SVG snapshots of the main screens at a fixed size on fixed data and a fixed clock.

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest
from tuikit import SIZE, app_for, loaded, make_queue, open_item, settle

from reviewer.screens.dialogs import ConfirmCorrection, CorrectScreen, HelpScreen, RejectDialog


@pytest.fixture
def app(tmp_path):
    q = make_queue(tmp_path)
    yield app_for(q)
    q.close()


def no_blink(app) -> None:
    for w in app.screen.query("Input, TextArea"):
        w.cursor_blink = False


def test_queue_screen(snap_compare, app):
    async def ready(pilot):
        await loaded(pilot)
        no_blink(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_bulk_confirmation(snap_compare, tmp_path):
    from tuikit import ACTIONS

    from reviewer.screens.dialogs import BulkConfirm

    q = make_queue(tmp_path, ACTIONS)

    async def ready(pilot):
        await loaded(pilot)
        await pilot.press("space", "space", "space", "space")  # one critical action among them
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(pilot.app.screen, BulkConfirm))

    assert snap_compare(app_for(q), terminal_size=SIZE, run_before=ready)
    q.close()


def test_near_duplicates_marked_for_one_decision(snap_compare, tmp_path):
    from reviewer.models import parse_item

    text = "Absolutely! We offer a 90-day no-questions-asked refund."
    twins = [parse_item({"kind": "output", "id": f"sup-{i}", "queue": "support", "output": out,
                         "created_at": "2026-11-20T10:00:00Z",
                         "input": {"messages": [{"role": "user", "content": "Can I return my headphones?"}]}})
             for i, out in ((2, text), (3, "We offer a 90-day refund, no questions asked. Absolutely!"),
                            (4, text.replace("90", "60")))]
    q = make_queue(tmp_path, twins)

    async def ready(pilot):
        lst = await loaded(pilot)
        lst.cursor = next(i for i in range(lst.total) if lst.summary_at(i).id == "sup-1")
        await pilot.press("equals_sign")
        await settle(pilot, lambda: len(lst.marked) == 3)
        no_blink(pilot.app)

    assert snap_compare(app_for(q), terminal_size=SIZE, run_before=ready)
    q.close()


def test_review_screen_with_diff(snap_compare, app):
    async def ready(pilot):
        await open_item(pilot, "fin-1")

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_reject_picker(snap_compare, app):
    async def ready(pilot):
        await open_item(pilot, "sup-1")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(pilot.app.screen, RejectDialog))
        await pilot.press("2", "5")
        no_blink(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_correction_confirm(snap_compare, app):
    async def ready(pilot):
        await open_item(pilot, "rag-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(pilot.app.screen, CorrectScreen))
        pilot.app.screen.query_one("TextArea").text = "Employees accrue 25 days of paid leave per year."
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(pilot.app.screen, ConfirmCorrection))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_help(snap_compare, app):
    async def ready(pilot):
        await open_item(pilot, "fin-1")
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


@pytest.mark.parametrize("item_id", ["sh-1", "sql-1", "file-1", "pay-1"])
def test_action_screen(snap_compare, tmp_path, item_id):
    from tuikit import ACTIONS

    q = make_queue(tmp_path, ACTIONS)

    async def ready(pilot):
        await open_item(pilot, item_id)

    assert snap_compare(app_for(q), terminal_size=SIZE, run_before=ready)
    q.close()


def test_review_screen_with_a_judges_suggestion(snap_compare, tmp_path):
    from reviewer.models import Suggestion

    q = make_queue(tmp_path)
    q.suggest(Suggestion(item_id="fin-1", model="openai/gpt-4o-mini", prompt_version="judge-v1@test",
                         verdict="correct", reasons=["wrong_numbers"], confidence=0.86,
                         correction="Nordhavn reported net sales of SEK 4,812m and EBIT of SEK 611m.",
                         rationale="Revenue and EBIT are swapped against the income statement."), actor="ann")

    async def ready(pilot):
        await open_item(pilot, "fin-1")

    assert snap_compare(app_for(q), terminal_size=SIZE, run_before=ready)
    q.close()


SMALL = (80, 24)  # the smallest terminal the layout is designed for


def test_queue_screen_80x24(snap_compare, tmp_path):
    from tuikit import ACTIONS

    q = make_queue(tmp_path, ACTIONS)

    async def ready(pilot):
        await loaded(pilot)
        no_blink(pilot.app)

    assert snap_compare(app_for(q), terminal_size=SMALL, run_before=ready)
    q.close()


def test_review_screen_80x24_output(snap_compare, app):
    async def ready(pilot):
        await open_item(pilot, "fin-1")

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_review_screen_80x24_action(snap_compare, tmp_path):
    from tuikit import ACTIONS

    q = make_queue(tmp_path, ACTIONS)

    async def ready(pilot):
        await open_item(pilot, "sh-1")

    assert snap_compare(app_for(q), terminal_size=SMALL, run_before=ready)
    q.close()
