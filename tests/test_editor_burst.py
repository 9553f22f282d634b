"""The correction editor under burst typing: keys typed ahead of a screen run in order."""

from __future__ import annotations

import pytest
from test_tui import burst
from tuikit import SIZE, app_for, make_queue, open_item, screen_text, settle

from reviewer.screens.dialogs import ArgumentsEditor, ConfirmCorrection, CorrectScreen
from reviewer.screens.review_screen import ReviewScreen


@pytest.fixture
def queue(tmp_path):
    q = make_queue(tmp_path)
    yield q
    q.close()


async def test_correcting_one_number_typed_as_a_burst_replaces_the_number(queue):
    """The README's six keys (c, ctrl+n, the two new digits, ctrl+s, enter) in one burst."""
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")  # "Employees accrue 30 days of leave per year."
        await burst(app, "c", "ctrl+n", "2", "5", "ctrl+s", "enter")
        await settle(pilot, lambda: queue.get("rag-1").status == "decided")
        d = queue.get("rag-1").decisions[-1]
        assert (d.verdict, d.correction) == ("correct", "Employees accrue 25 days of leave per year.")


async def test_an_argument_edit_typed_as_a_burst_replaces_the_amount_not_the_order_id(queue):
    """act-1 is {"order_id": "55120", "amount": 1249.0}: ctrl+n picks the amount, a value,
    before the digits of the id, and the burst records the new amount."""
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "act-1")
        await burst(app, "c", "ctrl+n", "9", "9", "ctrl+s", "enter")
        await settle(pilot, lambda: queue.get("act-1").status == "decided")
        d = queue.get("act-1").decisions[-1]
        assert (d.verdict, d.arguments) == ("correct", {"order_id": "55120", "amount": 99})


async def test_ctrl_n_walks_values_before_the_digits_of_names_and_ids(tmp_path):
    from reviewer.models import parse_item

    extra = [parse_item({"kind": "output", "id": "q3-1", "queue": "finchat", "input": {"messages": []},
                         "output": "In Q3 order #20224 shipped 1,250 units, 90-day terms."})]
    q = make_queue(tmp_path, extra)
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "q3-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        picked = []
        for _ in range(5):
            await pilot.press("ctrl+n")
            picked.append(app.screen.query_one("#editor").selected_text)
        assert picked == ["1,250", "90", "3", "20224", "1,250"]
    q.close()


async def test_ctrl_z_undoes_a_number_typed_over_a_picked_one_and_one_esc_then_closes(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")
        for key in ("c", "ctrl+n", "2", "5", "ctrl+z"):  # one at a time: the undo itself
            await pilot.press(key)
            await settle(pilot)
        assert app.screen.query_one("#editor").text == "Employees accrue 30 days of leave per year."
        await pilot.press("escape")  # nothing changed now: one Esc closes
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("rag-1").status == "claimed"


async def test_esc_with_edits_asks_and_n_keeps_the_edits(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "act-1")
        await burst(app, "c", "ctrl+n", "7", "escape")
        await settle(pilot, lambda: "Discard your edits?" in screen_text(app))
        assert isinstance(app.screen, ArgumentsEditor)
        await pilot.press("n")
        await settle(pilot, lambda: "Discard your edits?" not in screen_text(app))
        assert isinstance(app.screen, ArgumentsEditor)
        assert '"amount": 7' in app.screen.query_one("#editor").text
        await burst(app, "escape", "y")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("act-1").status == "claimed"  # nothing recorded


@pytest.mark.parametrize(("item_id", "act", "done"), [("act-1", "Approve with edits", "approved with edits"),
                                                       ("rag-1", "Correct", "corrected")])
async def test_the_confirmation_its_footer_and_the_toast_name_the_act_alike(queue, item_id, act, done):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, item_id)
        await burst(app, "c", "ctrl+n", "9", "9", "ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        assert screen_text(app).startswith(act)  # the dialog's question
        assert act in {k.description for k in app.screen.query("FooterKey")}
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get(item_id).status == "decided" and isinstance(app.screen, ReviewScreen))
        toast = screen.query_one("#last-decision").content
        assert f"✓ {done} {item_id}" in getattr(toast, "plain", str(toast))
