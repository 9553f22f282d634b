"""The review loop's small things: keys dropped in a burst are said, skip says so, the tenth
reason has a key, search opens its best match, the palette finds every approve."""

from __future__ import annotations

import time

from tuikit import SIZE, app_for, make_queue, open_item, settle


async def test_a_burst_of_approvals_drops_the_keys_typed_before_the_next_item_showed_and_says_so(tmp_path):
    queue = make_queue(tmp_path)
    slow = queue.decide_and_next

    def decide_and_next(*a, **kw):  # a busy machine: the next item takes a moment to come
        time.sleep(0.4)
        return slow(*a, **kw)

    queue.decide_and_next = decide_and_next  # type: ignore[method-assign]
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        await pilot.press("a", "a", "a", "a", "a")
        await settle(pilot, lambda: not screen.busy and screen.item is not None)
        assert [d.item_id for d in queue.decisions_since(0)] == ["fin-1"]  # nothing unseen approved
        said = [n.message for n in app._notifications]
        assert "4 keys ignored: the next item was not on screen yet" in said
        assert app.ignored_keys == 4


def _out(i: str, text: str):
    from reviewer.models import parse_item

    return parse_item({"kind": "output", "id": i, "queue": "finchat", "output": text,
                       "input": {"text": "What happened?"}, "created_at": "2029-12-31T12:00:00+00:00"})


async def test_enter_in_the_search_box_opens_the_best_match_and_a_whole_word_ranks_first(tmp_path):
    from reviewer.screens.review_screen import ReviewScreen

    extra = [_out("k-1", "Kestrelbank statement for May."), _out("k-2", "Kestrels migrate in autumn."),
             _out("k-3", "Ask the Kestrelton office."), _out("k-4", "The Kestrel fund rose 4% in Q3.")]
    queue = make_queue(tmp_path, extra)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        from tuikit import loaded

        await loaded(pilot)
        await pilot.press("slash", *"Kestrel", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.item is not None)
        assert app.screen.item.id == "k-4"


async def test_skip_says_so_and_the_tenth_reason_is_zero(tmp_path):
    from reviewer.models import QueueSettings
    from reviewer.screens.dialogs import RejectDialog

    queue = make_queue(tmp_path)
    reasons = [f"reason_{i}" for i in range(1, 11)]
    app = app_for(queue)
    for name in ("support", "rag-qa", "support-agent"):
        queue.set_queue_settings(name, QueueSettings(reasons=reasons), actor="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        await pilot.press("s")
        await settle(pilot, lambda: not screen.busy and screen.item is not None and screen.item.id != "fin-1")
        assert any(n.message.startswith("Skipped fin-1") for n in app._notifications)
        shown = screen.item.id
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("0", "enter")
        await settle(pilot, lambda: not isinstance(app.screen, RejectDialog) and not screen.busy)
        [d] = queue.decisions_since(0)
        assert (d.item_id, d.reasons) == (shown, ["reason_10"])


async def test_the_palette_finds_approve_with_a_comment_and_counts_read_right(tmp_path):
    from reviewer.screens.queue_screen import QueueScreen

    queue = make_queue(tmp_path)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Approve with a comment" in titles
        await pilot.press("q")
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
        qs = app.screen
        qs.similar_to = "fin-1"
        qs.show_counts({"pending": 5}, 2)
        counts = str(qs.query_one("#counts").render())
        assert "fin-1 and 1 near-duplicate (esc" in counts
