"""The review screen's "Queue done" state shows work that arrives while it is open."""

from __future__ import annotations

from tuikit import SIZE, act, app_for, make_queue, open_item, screen_text, settle


async def test_queue_done_shows_an_action_that_arrives_while_it_is_open(tmp_path):
    queue = make_queue(tmp_path)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "act-1")
        for _ in range(10):
            if screen.item is None:
                break
            await pilot.press("a")
            await settle(pilot, lambda: not screen.busy)
        assert screen.item is None and "Queue done" in screen_text(app)
        queue.enqueue(act("late-1", "issue_refund", {"order_id": "7", "amount": 5.0}))  # an agent asks while the reviewer waits
        await settle(pilot, lambda: screen.item is not None, tries=300)
        assert screen.item.id == "late-1" and screen.lease is not None
        assert "Queue done" not in screen_text(app)
