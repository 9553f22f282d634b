"""storage.peek reads the queue screen's first page without SQLAlchemy, and agrees with SqlQueue."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tuikit import SIZE, clock, loaded, settle

from reviewer.models import DecisionIn, ItemFilter
from reviewer.screens import make_app
from reviewer.storage import SqlQueue
from reviewer.storage.peek import peek

from factories import action, output


def test_peek_matches_the_queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    q = SqlQueue.open(url)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    q.enqueue_many([output(i, priority=i % 4) for i in range(150)]
                   + [action(i, expires_at=(soon + timedelta(minutes=i)).isoformat()) for i in range(8)])
    q.decide("out-3", DecisionIn(verdict="approve", reviewer="a"))
    q.claim("out-4", "b")
    rows = peek(url)
    want = q.list_items(ItemFilter(status=["pending", "claimed"]), order="triage", limit=100)
    assert [r.id for r in rows] == [r.id for r in want]
    for got, exp in ((rows[0], want[0]), (rows[-1], want[-1])):
        row = {**vars(got), "flags": [vars(f) for f in got.flags]}
        assert row == exp.model_dump()


def test_peek_declines_what_it_cannot_read(tmp_path):
    assert peek(f"sqlite:///{tmp_path / 'missing.db'}") is None
    (tmp_path / "junk.db").write_bytes(b"junk" * 100)
    assert peek(f"sqlite:///{tmp_path / 'junk.db'}") is None
    assert peek("postgresql+psycopg://x@localhost/db") is None


def test_first_paint_path_imports_neither_sqlalchemy_nor_pydantic(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    SqlQueue.open(url).enqueue(output(1))
    code = (f"import sys\nimport reviewer.screens\nfrom reviewer.storage.peek import peek\np = peek({url!r})\n"
            "print(len(p), [m for m in ('sqlalchemy', 'pydantic') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["1", "[]"], out.stderr


async def test_app_paints_the_peek_then_works_on_the_real_queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    q = SqlQueue.open(url)
    q.enqueue_many([output(i) for i in range(5)])
    app = make_app(lambda: SqlQueue.open(url), reviewer="alice", config={},
                   clock=clock, peek=lambda: peek(url))
    async with app.run_test(size=SIZE) as pilot:
        lst = await loaded(pilot)
        assert lst.total == 5
        await pilot.press("enter")
        await settle(pilot, lambda: getattr(app.screen, "item", None) is not None)
        await pilot.press("a")
        await settle(pilot, lambda: q.get("out-0").status == "decided")


def test_show_reads_the_same_item_without_pydantic_as_through_the_queue(tmp_path):
    from reviewer.cli.render import render_item
    from reviewer.storage.peek import as_queue_item, get_document

    url = f"sqlite:///{tmp_path / 'q.db'}"
    q = SqlQueue.open(url)
    q.enqueue_many([output(1), action(2)])
    q.decide("out-1", DecisionIn(verdict="correct", reviewer="a", correction="Better.", reasons=["tone"]))
    q.decide("act-2", DecisionIn(verdict="correct", reviewer="b", arguments={"amount": 1}))
    for item_id in ("out-1", "act-2"):
        doc = get_document(url, item_id)
        via_queue = q.get(item_id)
        text = render_item(doc)
        trail = [a.model_dump(mode="json") for a in q.audit(item_id)]
        assert text == render_item(via_queue.model_dump(mode="json") | {"audit": trail})
        assert "audit trail:" in text and "decide" in text
        assert ("+Better." in text) == (item_id == "out-1")  # the correction, as a diff
        assert as_queue_item(doc) == via_queue
    code = (f"import sys\nfrom reviewer.cli.render import render_item\nfrom reviewer.storage.peek import get_document\n"
            f"render_item(get_document({url!r}, 'out-1'))\nprint('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False"], out.stderr
