"""The triage app, driven with Pilot; every flow checks the queue's state afterwards."""

from __future__ import annotations

import sys

import pytest
from tuikit import (
    SIZE,
    app_for,
    clock,
    drawn_text,
    loaded,
    make_queue,
    open_item,
    screen_text,
    settle,
)

from reviewer.errors import StorageError
from reviewer.models import DecisionIn, ItemFilter, parse_item
from reviewer.screens import make_app
from reviewer.screens.dialogs import (
    ConfirmCorrection,
    CorrectScreen,
    ErrorScreen,
    HelpScreen,
    RejectDialog,
)
from reviewer.screens.queue_screen import QueueScreen
from reviewer.screens.review_screen import ReviewScreen

from factories import HOSTILE


def current(pilot) -> str:
    return pilot.app.screen.item.id


@pytest.fixture
def queue(tmp_path):
    q = make_queue(tmp_path)
    yield q
    q.close()


async def test_queue_screen_lists_items_with_actions_first_and_counts(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        assert lst.total == 5
        assert [lst.summary_at(i).id for i in range(5)] == ["act-1", "fin-1", "sup-1", "rag-1", "rag-2"]
        counts = str(app.screen.query_one("#counts").render())
        assert "pending 5" in counts and "decided today 0" in counts


async def test_at_80_columns_the_list_still_shows_what_each_item_says(queue):
    app = app_for(queue)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.pause()
        shown = drawn_text(app)
        assert "Employees accrue" in shown and "as alice" in shown


async def test_filter_by_queue_and_status(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.screen.query_one("#f-queue").value = "rag-qa"
        await settle(pilot, lambda: app.screen.query_one("QueueList").total == 2)
        queue.decide("rag-1", DecisionIn(verdict="approve", reviewer="bob"))
        app.screen.query_one("#f-status").value = "decided"
        lst = app.screen.query_one("QueueList")
        await settle(pilot, lambda: lst.total == 1 and lst.summary_at(0) is not None)
        assert lst.summary_at(0).id == "rag-1"


async def test_picking_a_filter_returns_to_the_list(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        await pilot.press("f", "tab")  # the status filter
        status = app.screen.query_one("#f-status")
        assert status.has_focus
        await pilot.press("enter", "down", "enter")  # open, next value, pick it
        await settle(pilot)
        assert lst.has_focus and status.value == "pending"
        await pilot.press("down", "down")
        assert status.value == "pending" and lst.cursor == 2
        await pilot.press("f")
        await pilot.press("escape")
        assert lst.has_focus


async def test_fuzzy_search_ranks_as_you_type_and_escape_clears(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        await pilot.press("slash", *"concur")
        await settle(pilot, lambda: lst.total == 1)
        assert lst.summary_at(0).id == "rag-2"
        await pilot.press("backspace", *"ur expnses")  # a typo still finds it
        await settle(pilot, lambda: lst.total >= 1 and lst.summary_at(0) is not None)
        assert lst.summary_at(0).id == "rag-2"
        await pilot.press("escape")
        await settle(pilot, lambda: lst.total == 5)


async def test_search_finds_ids_says_when_nothing_matches_and_when_more_match(queue, monkeypatch):
    from reviewer.screens import queue_screen

    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        await pilot.press("slash", *"rag-2")
        await settle(pilot, lambda: lst.total >= 1 and lst.summary_at(0) is not None)
        assert lst.summary_at(0).id == "rag-2"
        await pilot.press(*"qqzzxx")
        await settle(pilot, lambda: lst.total == 0)
        assert "No match for “rag-2qqzzxx”" in lst.empty_message
        monkeypatch.setattr(queue_screen, "SEARCH_LIMIT", 2)
        app.screen.query_one("#search").value = "a"
        await settle(pilot, lambda: lst.total == 2)
        assert "best 2 of more matches" in str(app.screen.query_one("#counts").render())


async def test_approve_records_verdict_releases_lease_and_moves_on(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        assert queue.get("fin-1").claimed_by == "alice"
        await pilot.press("a")
        await settle(pilot, lambda: screen.item is not None and screen.item.id != "fin-1")
        item = queue.get("fin-1")
        assert (item.status, item.verdict, item.claimed_by) == ("decided", "approve", None)
        d = item.decisions[-1]
        assert d.reviewer == "alice" and d.duration_ms is not None and d.duration_ms >= 0
        assert current(pilot) == "sup-1" and queue.get("sup-1").claimed_by == "alice"


async def test_a_decision_is_confirmed_until_the_next_and_the_title_moves_with_the_panes(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        assert "2 / 5" in str(screen.query_one("#item-title").render())
        await pilot.press("a")
        await settle(pilot, lambda: current(pilot) != "fin-1")
        nxt = current(pilot)
        confirmation = str(screen.query_one("#last-decision").render())
        assert "approved fin-1" in confirmation and "u to undo" in confirmation
        title = str(screen.query_one("#item-title").render())
        assert nxt in title and "fin-1" not in title  # the header names what the panes show
        assert "3 / 5 · 1 decided" in title and "/h" in title and "left" in title  # progress
        await pilot.press("u")
        await settle(pilot, lambda: current(pilot) == "fin-1")
        assert "undone fin-1" in str(screen.query_one("#last-decision").render())


async def test_approve_with_a_comment(queue):
    from reviewer.screens.dialogs import CommentDialog

    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, CommentDialog))
        await pilot.press(*"checked with billing", "enter")
        await settle(pilot, lambda: queue.get("sup-1").status == "decided")
    d = queue.get("sup-1").decisions[-1]
    assert (d.verdict, d.comment) == ("approve", "checked with billing")


async def test_reject_with_reasons_and_comment(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("2", "5", "tab", *"promises a policy we do not have", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen) and current(pilot) != "sup-1")
        d = queue.get("sup-1").decisions[-1]
        assert (d.verdict, d.reasons, d.comment) == (
            "reject", ["unfaithful_to_context", "policy_violation"], "promises a policy we do not have")
        assert queue.get("sup-1").claimed_by is None


async def burst(app, *keys: str) -> None:
    """Keys as a fast typist sends them: all queued before the app handles the first."""
    from textual import events

    chars = {"enter": "\r", "tab": "\t", "space": " "}
    for k in keys:
        app.post_message(events.Key(k, chars.get(k, k if len(k) == 1 else None)))


async def test_keys_typed_ahead_of_the_reject_dialog_do_what_they_say(queue):
    """`r 3 Enter` in one burst: reason 3 and nothing else, submitted (it used to tick the
    highlighted reason too, and leave the dialog open)."""
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "act-1")
        await burst(app, "r", "3", "enter")
        await settle(pilot, lambda: queue.get("act-1").status == "decided")
        assert not isinstance(app.screen, RejectDialog)
        d = queue.get("act-1").decisions[-1]
        assert (d.verdict, d.reasons) == ("reject", ["not_requested"])
        await burst(app, "r", "1", "2", "2", "tab", *"too risky", "enter")  # the next item
        await settle(pilot, lambda: len(queue.list_items(ItemFilter(status=["decided"]))) == 2)
        second = next(i for i in queue.list_items(ItemFilter(status=["decided"])) if i.id != "act-1")
        d = queue.get(second.id).decisions[-1]
        assert (len(d.reasons), d.comment) == (1, "too risky")


async def test_reject_needs_a_reason_and_escape_cancels(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("enter")
        assert isinstance(app.screen, RejectDialog)  # refused: no reason picked
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("sup-1").status == "claimed"


async def test_correct_shows_diff_then_records_correction(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        area = app.screen.query_one("TextArea")
        area.text = "Employees accrue 25 days of leave per year."
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        assert "25" in screen_text(app) and "30" in screen_text(app)
        await pilot.press("escape")  # back to editing keeps the text
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        assert app.screen.query_one("TextArea").text == "Employees accrue 25 days of leave per year."
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen) and current(pilot) != "rag-1")
        d = queue.get("rag-1").decisions[-1]
        assert (d.verdict, d.correction) == ("correct", "Employees accrue 25 days of leave per year.")


async def rewrite_in_editor(pilot, item_id: str, text: str) -> None:
    """Open the item's correction editor, replace everything with `text` (ctrl+a), save: the
    diff confirmation is on screen."""
    app = pilot.app
    await open_item(pilot, item_id)
    await pilot.press("c")
    await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
    await pilot.press("ctrl+a", *text, "ctrl+s")
    await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))


async def test_ctrl_a_selects_all_in_the_editor(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await rewrite_in_editor(pilot, "rag-1", "New text.")
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get("rag-1").status == "decided")
    assert queue.get("rag-1").decisions[-1].correction == "New text."


async def test_the_editor_leaves_the_context_in_view(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        shown = drawn_text(app)
        assert "How many leave days?" in shown and "Employees accrue 30 days" in shown


async def test_a_correction_with_a_comment(queue):
    from reviewer.screens.dialogs import CommentDialog

    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await rewrite_in_editor(pilot, "rag-1", "Employees accrue 25 days.")
        await pilot.press("m")
        await settle(pilot, lambda: isinstance(app.screen, CommentDialog))
        await pilot.press(*"HR handbook p.4", "enter")
        await settle(pilot, lambda: queue.get("rag-1").status == "decided")
    d = queue.get("rag-1").decisions[-1]
    assert (d.verdict, d.correction, d.comment) == ("correct", "Employees accrue 25 days.", "HR handbook p.4")


async def test_correct_in_external_editor(queue, tmp_path, monkeypatch):
    script = tmp_path / "ed.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\nopen(p, 'w').write(t.replace('30', '28'))\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-2")
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get("rag-2").status == "decided")
        assert queue.get("rag-2").decisions[-1].correction == "Submit expenses in Concur within 28 days."


async def test_an_editor_that_only_adds_a_newline_changes_nothing(queue, tmp_path, monkeypatch):
    """$EDITOR saves the text unchanged but for a last newline: nothing is recorded, and a real
    edit is stored without the newline."""
    script = tmp_path / "ed.py"
    script.write_text("import sys, os\np = sys.argv[1]\nt = open(p).read()\n"
                      "open(p, 'w').write(t.replace('30', os.environ.get('NEW', '30')) + '\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "rag-2")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and screen.item.id == "rag-2"
        assert queue.get("rag-2").status == "claimed"  # nothing recorded
        monkeypatch.setenv("NEW", "28")
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get("rag-2").status == "decided")
    assert queue.get("rag-2").decisions[-1].correction == "Submit expenses in Concur within 28 days."


async def test_a_decided_item_shows_its_history_and_offers_no_decision(queue):
    queue.decide("rag-2", DecisionIn(verdict="correct", reviewer="bob", correction="Within 28 days.",
                                     reasons=["wrong_numbers"], comment="policy changed in May"))
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.screen.query_one("#f-status").value = "decided"
        lst = app.screen.query_one("QueueList")
        await settle(pilot, lambda: lst.total == 1 and lst.summary_at(0) is not None)
        screen = await open_item(pilot, "rag-2")
        text = screen_text(app)
        assert "History" in text and "correct by bob" in text
        assert "wrong_numbers" in text and "policy changed in May" in text
        assert "correction by bob" in text  # the correction, as a diff against the output
        assert screen.lease is None
        footer = " ".join(k.description for k in app.screen.query("FooterKey"))
        assert "Approve" not in footer and "Reject" not in footer and "Next" in footer
        await pilot.press("a")
        await pilot.pause()
        assert len(queue.get("rag-2").decisions) == 1  # the key does nothing here


async def test_diff_against_reference_toggles_inline_and_side(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        diff = screen.query_one("#diff")
        assert screen.mode == "inline" and diff.display and diff.query_one(".inline").display
        assert "net sales" in screen_text(app)
        await pilot.press("d")
        assert screen.mode == "side" and diff.query_one(".side").display
        assert not diff.query_one(".inline").display
        assert "net sales" in str(diff.query_one(".new-text").content)
        await pilot.press("d")
        assert screen.mode == "output" and not diff.display and screen.query_one("#main-scroll").display


async def test_diff_key_says_when_there_is_nothing_to_diff(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_item(pilot, "sup-1")  # no reference
        await pilot.press("d")
        await settle(pilot, lambda: any("Nothing to diff" in str(n.message) for n in app._notifications))
        assert screen.mode == "output"


async def test_skip_releases_and_next_prev_navigate(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")
        await pilot.press("s")
        await settle(pilot, lambda: current(pilot) == "sup-1")
        assert queue.get("fin-1").status == "pending"
        await pilot.press("n")
        await settle(pilot, lambda: current(pilot) == "rag-1")
        await pilot.press("p")
        await settle(pilot, lambda: current(pilot) == "sup-1")
        assert queue.get("rag-1").status == "pending" and queue.get("sup-1").claimed_by == "alice"
        await pilot.press("q")
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen) and queue.get("sup-1").status == "pending")


async def test_undo_puts_the_item_back_and_focuses_it(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")
        await pilot.press("a")
        await settle(pilot, lambda: current(pilot) == "sup-1")
        assert "3 / 5 · 1 decided" in screen_text(app)
        await pilot.press("u")
        await settle(pilot, lambda: current(pilot) == "fin-1" and app.screen.lease is not None)
        assert "2 / 5" in screen_text(app) and "decided ·" not in screen_text(app)  # off the count
        item = queue.get("fin-1")
        assert item.status == "claimed" and [d.verdict for d in item.decisions] == ["approve", "revert"]
        assert queue.get("sup-1").status == "pending"  # released when we moved back


async def test_end_of_queue_says_done(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-2")
        await pilot.press("a")
        await settle(pilot, lambda: app.screen.item is None)
        assert "Queue done" in screen_text(app)


async def test_help_lists_every_key_with_its_id(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        ids = {r[2] for r in app.screen.rows}
        assert {"review.approve", "review.reject", "review.correct", "review.edit", "review.skip",
                "review.undo", "review.next", "review.prev", "review.back"} <= ids


async def test_help_names_the_keys_that_do_nothing_yet_and_says_so(queue):
    """With nothing marked the bulk keys do nothing and the footer hides them: `?` still lists
    them, marked as not available right now, and plainly once items are marked."""
    from reviewer.screens.app import NOT_NOW

    app = app_for(queue)

    async def help_rows() -> dict[str, str]:
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = {bid: does for _, does, bid in app.screen.rows}
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, HelpScreen))
        return rows

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        rows = await help_rows()
        assert rows["queue.bulk_approve"] == f"Approve the marked items (critical actions are left out) {NOT_NOW}"
        assert rows["queue.bulk_reject"].endswith(NOT_NOW) and not rows["queue.search"].endswith(NOT_NOW)
        await pilot.press("space")
        rows = await help_rows()
        assert rows["queue.bulk_approve"] == "Approve the marked items (critical actions are left out)"


async def test_keys_can_be_remapped_by_id(queue):
    app = make_app(lambda: queue, reviewer="alice", clock=clock,
                   config={"keymap": {"review.approve": "y"}})
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")
        await pilot.press("y")
        await settle(pilot, lambda: queue.get("fin-1").status == "decided")


async def test_live_refresh_shows_items_from_another_process(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        queue.enqueue(parse_item({"kind": "output", "id": "new-1", "output": "fresh", "priority": 0}))
        await settle(pilot, lambda: lst.total == 6, tries=300)


async def test_hostile_content_renders_inert(tmp_path):
    evil = "\n".join(HOSTILE)
    big_line = "A" * 200_000
    many_lines = "\n".join(f"line {i}" for i in range(50_000))
    extra = [parse_item({
        "kind": "output", "id": "evil[bold]", "queue": "q[/]", "priority": 0, "tags": ["[red]t[/red]"],
        "flags": [{"reason": "guardrail.[b]x", "detail": evil}],
        "input": {"messages": [{"role": "user[/]", "content": evil}]},
        "context": {"documents": [{"id": "[link=x]d", "title": evil, "text": evil}], "metadata": {"[/]": evil}},
        "source": {"app": evil},
        "output": evil + "\n" + big_line + "\n" + many_lines,
        "reference": evil,
    })]
    q = make_queue(tmp_path, extra)
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        assert any(lst.summary_at(i).id == "evil[bold]" for i in range(lst.total))
        await open_item(pilot, "evil[bold]")
        text = screen_text(app)
        for raw in ("\x1b", "\x07", "\u202e", "\x9b", "\x00"):
            assert raw not in text
        assert "\\x1b]0;pwned title\\x07" in text
        assert "[@click=app.approve('x')]go[/]" in text  # literal, not an action
        assert "the diff covers the first 20,000 characters" in text
        await pilot.press("d")  # side by side
        await pilot.press("d")  # output alone, cut for display
        assert "more characters hidden" in screen_text(app)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.click("#output-text")  # clicking the text runs nothing
        await settle(pilot)
        assert q.get("evil[bold]").status == "claimed"
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("1", "enter")
        await settle(pilot, lambda: q.get("evil[bold]").status == "decided")
        assert q.get("evil[bold]").item.output.startswith(evil)  # storage untouched


async def test_database_error_shows_message_and_retry_recovers(tmp_path):
    good = make_queue(tmp_path)
    calls = []

    def opener():
        calls.append(1)
        if len(calls) == 1:
            raise StorageError("the queue database is locked by another process", hint="retry in a moment")
        return good

    app = make_app(opener, reviewer="alice", config={}, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "locked by another process" in screen_text(app)
        await pilot.press("r")
        lst = await loaded(pilot)
        assert lst.total == 5


async def test_command_palette_offers_review_actions(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        titles = [c.title for c in app.get_system_commands(screen)]
        assert {"Approve", "Reject", "Correct", "Skip", "Next", "Previous", "Back", "Undo", "Similar items"} <= set(titles)
        assert titles.count("Keys") == 1
        await pilot.press("q")
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Search", "Similar items", "Mark all", "Report"} <= set(titles)


async def test_an_open_queue_screen_shows_new_arrivals_and_changes_made_elsewhere(queue):
    from datetime import timedelta

    from tuikit import NOW, act

    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        before = lst.total
        urgent = act("new-1", "issue_refund", {"order_id": "1", "amount": 5.0},
                     expires_at=(NOW + timedelta(minutes=1)).isoformat())
        queue.enqueue(urgent)  # an agent asks while the reviewer looks at the list
        await settle(pilot, lambda: lst.total == before + 1 and lst.summary_at(0) is not None
                     and lst.summary_at(0).id == "new-1")
        queue.decide("sup-1", DecisionIn(verdict="approve", reviewer="bob"))  # decided elsewhere
        await settle(pilot, lambda: lst.total == before and "sup-1" not in
                     [lst.summary_at(i).id for i in range(lst.total) if lst.summary_at(i)])


async def test_bulk_approve_marked_items_confirms_with_count_and_sample_and_one_undo_reverts_it(tmp_path):
    from tuikit import ACTIONS

    from reviewer.screens.dialogs import BulkConfirm

    queue = make_queue(tmp_path, ACTIONS)
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        order = [lst.summary_at(i).id for i in range(lst.total)]
        assert "Approve marked" not in drawn_text(app)  # nothing marked: no bulk keys
        await pilot.press("space", "space", "space")  # the first three rows, cursor moving down
        assert list(lst.marked) == order[:3] and lst.cursor == 3
        await pilot.press("k", "space", "k", "space")  # unmark the third, mark it again
        assert list(lst.marked) == order[:3]
        assert "●" in drawn_text(app) and "Approve marked" in drawn_text(app)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, BulkConfirm))
        shown = drawn_text(app)
        critical = [i for i in order[:3] if queue.get(i).item.kind == "action"
                    and queue.get(i).item.risk == "critical"]
        assert critical, "the first rows hold a critical action"
        assert f"Approve {3 - len(critical)} item" in shown
        assert f"left out {critical[0]}" in shown and "never approved in bulk" in shown
        await pilot.press("y")
        n = 3 - len(critical)
        assert any(x.message == f"Approving {n} item{'s' if n != 1 else ''}…" for x in app._notifications)
        await settle(pilot, lambda: not lst.marked and lst.total == len(order) - 3 + len(critical))
        for i in order[:3]:
            assert queue.get(i).status == ("pending" if i in critical else "decided")
        batch = {queue.get(i).decisions[-1].batch for i in order[:3] if i not in critical}
        assert len(batch) == 1 and None not in batch
        await pilot.press("u")
        await settle(pilot, lambda: lst.total == len(order))
        assert {queue.get(i).status for i in order[:3]} == {"pending"}


async def test_bulk_reject_all_that_match_a_filter_with_one_reason(queue):
    from reviewer.screens.dialogs import BulkConfirm

    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.screen.query_one("#f-queue").value = "rag-qa"
        lst = app.screen.query_one("QueueList")
        await settle(pilot, lambda: lst.total == 2)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(lst.marked) == 2)
        assert "2 marked" in drawn_text(app)
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        assert "Reject 2 items" in drawn_text(app)
        await pilot.press("1", "enter")
        await settle(pilot, lambda: isinstance(app.screen, BulkConfirm))
        await pilot.press("n")  # no: back to the list, the marks kept
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert len(lst.marked) == 2 and queue.get("rag-1").status == "pending"
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("1", "enter")
        await settle(pilot, lambda: isinstance(app.screen, BulkConfirm))
        await pilot.press("enter")
        await settle(pilot, lambda: queue.get("rag-2").status == "decided" and not lst.marked)
        for i in ("rag-1", "rag-2"):
            d = queue.get(i).decisions[-1]
            assert (d.verdict, d.reasons, d.reviewer) == ("reject", ["hallucination"], "alice")
        assert queue.get("fin-1").status == "pending"


async def test_correcting_one_number_takes_six_keys(queue):
    """c, ctrl+n (select the next number), the new digits, ctrl+s, enter: as the README says."""
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")  # "Employees accrue 30 days of leave per year."
        keys = ["c", "ctrl+n", "2", "5", "ctrl+s", "enter"]
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await settle(pilot, lambda: queue.get("rag-1").status == "decided")
        d = queue.get("rag-1").decisions[-1]
        assert (d.verdict, d.correction) == ("correct", "Employees accrue 25 days of leave per year.")
        assert len(keys) == 6


async def test_ctrl_n_in_the_editor_walks_the_numbers_and_wraps(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")  # "... revenue of SEK 611m and EBIT of SEK 4,812m."
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        editor = app.screen.query_one("#editor")
        picked = []
        for _ in range(3):
            await pilot.press("ctrl+n")
            picked.append(editor.selected_text)
        assert picked == ["611", "4,812", "611"]


async def test_equals_shows_an_items_near_duplicates_marked_to_decide_the_cluster_at_once(tmp_path):
    from tuikit import items as base_items

    from reviewer.models import parse_item

    text = "Absolutely! We offer a 90-day no-questions-asked refund."
    twins = [parse_item({"kind": "output", "id": f"sup-{i}", "queue": "support", "output": out,
                         "input": {"messages": [{"role": "user", "content": "Can I return my headphones?"}]}})
             for i, out in ((2, text), (3, "We offer a 90-day refund, no questions asked. Absolutely!"),
                            (4, text.replace("90", "60")))]  # another figure: not a duplicate
    queue = make_queue(tmp_path, twins)
    assert len(base_items()) + 3 == queue.count()
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        await pilot.press("equals_sign")
        lst = app.screen.query_one("QueueList")
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen) and len(lst.marked) == 3)
        assert [lst.summary_at(i).id for i in range(lst.total)][0] == "sup-1"
        assert set(lst.marked) == {"sup-1", "sup-2", "sup-3"}
        assert "2 near-duplicates" in drawn_text(app)
        assert queue.get("sup-1").status == "pending"  # released on the way back
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("1", "enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot, lambda: {queue.get(f"sup-{i}").status for i in (1, 2, 3)} == {"decided"})
        assert queue.get("sup-4").status == "pending"
        await pilot.press("escape")  # back to the whole queue
        await settle(pilot, lambda: lst.total == len(base_items()))


async def test_an_output_whose_reviewers_disagree_shows_as_disputed_for_adjudication(queue):
    from reviewer.models import QueueSettings

    queue.set_queue_settings("rag-qa", QueueSettings(reviews_per_item=2), actor="admin")
    queue.decide("rag-1", DecisionIn(verdict="approve", reviewer="bob"))
    queue.decide("rag-1", DecisionIn(verdict="reject", reviewer="carol", reasons=["hallucination"]))
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        row = next(line for line in drawn_text(app).splitlines() if "Employees accrue" in line)
        assert "disputed" in row
        screen = await open_item(pilot, "rag-1")
        assert "bob" in drawn_text(app) and "carol" in drawn_text(app)  # both reviews in its history
        await pilot.press("a")  # alice adjudicates
        await settle(pilot, lambda: queue.get("rag-1").status == "decided")
        assert (queue.get("rag-1").verdict, queue.get("rag-1").decided_by) == ("approve", "alice")
        assert screen is not None


async def test_at_80_columns_every_deciding_key_and_the_way_out_show(queue):
    def footer_keys(app) -> list[str]:
        footer = app.screen.query_one("KeyFooter")
        keys = [k for k in footer.query("FooterKey") if k.region.right <= footer.region.right]
        return [k.description for k in keys]

    app = app_for(queue)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.pause()
        assert {"Open", "Search", "Filters", "Help", "Quit"} <= set(footer_keys(app))
        await open_item(pilot, "sup-1")
        await pilot.pause()
        assert {"Approve", "Reject", "Correct", "Skip", "Undo", "Help", "Back"} <= set(footer_keys(app))
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.pause()
        assert "esc cancel" in drawn_text(app)


async def test_g_opens_the_report_with_flag_precision_and_hostile_names_inert(queue):
    from reviewer.models import parse_item

    queue.enqueue(parse_item({"kind": "output", "id": "evil", "queue": "[bold]q[/]", "output": "x",
                              "flags": [{"reason": "judge.[red]x[/red]", "score": 0.1}]}))
    queue.decide("evil", DecisionIn(verdict="reject", reviewer="bob", reasons=["hallucination"]))
    queue.decide("fin-1", DecisionIn(verdict="approve", reviewer="bob", duration_ms=5000))
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("g")
        await settle(pilot, lambda: "numeric_faithfulness" in drawn_text(app))
        shown = drawn_text(app)
        assert "judge.numeric_faithfulness" in shown and "0%" in shown  # approved: overturned
        assert "[bold]q[/]" in shown and "judge.[red]x[/red]" in shown  # markup shown as text
        assert "5.0 s" in shown  # bob's median time per decision
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, QueueScreen))


async def test_a_critical_action_arriving_while_reviewing_rings_the_bell(queue, monkeypatch):
    from tuikit import act

    app = app_for(queue)
    rings = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "sup-1")
        app.watch_urgent()  # the first look learns what is there (act-1, high): no bell
        await settle(pilot)
        assert rings == []
        queue.enqueue(act("wire-9", "transfer_funds", {"amount": 48500}, risk="critical", queue="payments"))
        app.watch_urgent()
        await settle(pilot, lambda: rings)
        said = [n.message for n in app._notifications]
        assert rings == [1] and "CRITICAL action waiting: transfer_funds in payments" in said
        app.watch_urgent()  # announced once
        await settle(pilot)
        assert rings == [1]


async def test_the_bell_and_desktop_notifications_can_be_turned_off_in_the_personal_config(queue, monkeypatch):
    looked = []
    monkeypatch.setattr("reviewer.screens.app.URGENT_POLL_S", 0.05)
    for config, expect in (({"notify_bell": False, "notify_desktop": False}, False), ({"notify_bell": False}, True),
                           ({}, True)):
        app = make_app(lambda: queue, reviewer="alice", config=config, clock=clock)
        monkeypatch.setattr(app, "watch_urgent", lambda: looked.append(1))
        looked.clear()
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            await pilot.pause(0.3)
        assert bool(looked) == expect


async def test_after_a_correction_the_next_items_footer_offers_the_deciding_keys_again(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "rag-1")
        for key in ("c", "ctrl+n", "2", "5", "ctrl+s", "enter"):
            await pilot.press(key)
            await pilot.pause()
        await settle(pilot, lambda: queue.get("rag-1").status == "decided" and screen.item.id != "rag-1")
        await pilot.pause()
        offered = {k.description for k in app.screen.query("FooterKey")}
        assert {"Approve", "Reject", "Correct"} <= offered


async def test_esc_in_the_editor_asks_before_throwing_edits_away(queue):
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        await pilot.press("escape")  # nothing edited: closes at once
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        await pilot.press("ctrl+n", "2", "5", "escape")
        await pilot.pause()
        assert isinstance(app.screen, CorrectScreen)  # the first Esc keeps the edits, and says so
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert queue.get("rag-1").status == "claimed"  # nothing recorded


async def test_quitting_on_the_review_screen_gives_the_item_back(queue):
    """ctrl+c with an item open: it is pending again at once, not held until the lease runs out."""
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "fin-1")
        assert queue.get("fin-1").status == "claimed"
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert queue.get("fin-1").status == "pending" and queue.get("fin-1").claimed_by is None


async def test_cyclic_garbage_is_collected_while_the_reviewer_reads_not_inside_a_key_press(queue):
    """The cyclic GC is off while the app runs (it paused frames); it runs once no key came
    for a while, mid-burst only past its limit, and is back on when the app is done."""
    import gc
    import time
    import weakref

    from reviewer.screens import app as app_module

    class Node:
        def __init__(self) -> None:
            self.me = self

    def garbage() -> weakref.ref:
        node = Node()
        ref = weakref.ref(node)
        del node  # only the cycle holds it now
        return ref

    assert gc.isenabled()
    app = app_for(queue)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert not gc.isenabled()
        ref = garbage()
        app.last_key = time.monotonic()  # a key just came: the garbage waits
        app.collect_when_idle()
        assert ref() is not None
        app.last_key = time.monotonic() - app_module.IDLE_S - 1  # the reviewer is reading
        app.collect_when_idle()
        assert ref() is None
        ref = garbage()
        app.last_key = time.monotonic()
        with pytest.MonkeyPatch.context() as mp:  # keys held down past the limit: collected anyway
            mp.setattr(app_module, "GC_YOUNG_LIMIT", 0)
            app.collect_when_idle()
        assert ref() is None
    assert gc.isenabled()
