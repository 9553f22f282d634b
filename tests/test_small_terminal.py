"""An 80×24 terminal: what a reviewer must still see, whole, on the queue and review screens."""

from __future__ import annotations

import io
import json
import re

from tuikit import ACTIONS, clock, loaded, make_queue, open_item, settle

from reviewer.models import QueueSettings
from reviewer.screens import make_app
from reviewer.screens.review_screen import ReviewScreen

SMALL = (80, 24)
NAME = "dana.whitfield"  # a reviewer name longer than "alice"


def rows(app) -> list[str]:
    """The terminal's rows as plain text, screens below a modal included."""
    from rich.console import Console

    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system=None,
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return [r.rstrip() for r in console.export_text(styles=False).splitlines()]


def small_app(tmp_path):
    q = make_queue(tmp_path, ACTIONS)
    q.set_queue_settings("finchat", QueueSettings(guidelines="Quote figures exactly, with currency."), actor="admin")
    return q, make_app(lambda: q, reviewer=NAME, config={}, clock=clock)


async def test_queue_screen_at_80x24_shows_the_name_a_one_line_flag_filter_and_the_arguments(tmp_path):
    from textual.widgets import Select

    q, app = small_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        lst = await loaded(pilot)
        await settle(pilot)
        counts = rows(app)[0]
        assert counts.endswith(f"as {NAME}"), counts
        assert "pending 9" in counts

        # every action's row shows its tool and about 40 characters of its arguments (at least
        # 40 after a tool name of up to 10 characters)
        for act in ACTIONS:
            args = json.dumps(act.action.arguments, ensure_ascii=False)
            row = next(r for r in rows(app) if f"{act.action.tool} {{" in r)
            assert args[:40 if len(act.action.tool) <= 10 else 36] in row, (act.id, row)

        # a long flag picked in the filter stays on one line: the list starts right below
        flag = app.screen.query_one("#f-flag", Select)
        flag.value = "judge.numeric_faithfulness"
        await settle(pilot, lambda: lst.total == 1)
        assert app.screen.query_one("#filters").region.height == 1
        shown = rows(app)
        assert "flag: judge.numer" in shown[1], shown[1]
        assert "search outputs" in shown[2], shown[2]
        assert "Nordhavn" in shown[3], shown[3]
    q.close()


async def test_review_screen_at_80x24_shows_the_whole_progress(tmp_path):
    q, app = small_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await open_item(pilot, "fin-1")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        for _ in range(2):
            before = screen.item.id
            await pilot.press("a")
            await settle(pilot, lambda b=before: screen.item is not None and screen.item.id != b)
        title = rows(app)[0]
        assert re.search(r"\d+ / 9 · 2 decided · [\d,]+/h · ~\d+(h\d\dm|m) left$", title), title
        assert screen.item.id in title  # the item's id stays too
    q.close()


async def test_the_wide_layout_keeps_its_labels(tmp_path):
    """At 160 columns nothing is abbreviated."""
    q, app = small_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_item(pilot, "fin-1")
        title = rows(app)[0]
        assert "queue finchat" in title and "old  claimed by you" in title, title
        await pilot.press("q")
        await loaded(pilot)
        await settle(pilot)
        counts = rows(app)[0]
        assert "decided today 0" in counts and "showing 9" in counts and counts.endswith(f"as {NAME}"), counts
    q.close()
