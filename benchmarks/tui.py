"""TUI speed and memory on a 100k-item queue, idle and beside one CPU-bound process, against
baselines measured in the same run.

    python benchmarks/tui.py [--items 100000] [--db PATH] [--quick]

Reports, each idle and busy (see _busy.py):
- first paint: time from process start to the queue screen showing its first rows, as a ratio
  to a minimal Textual app's first paint (both headless, fresh processes, interleaved, median
  of --runs), built the way `reviewer` builds it (first page from reviewer.storage.peek, the
  ORM after the paint). Target: ratio <= 1.5.
- key-to-next-item: after pressing `a`, time until the next item is on screen (p50, p95 over
  --decisions approvals of flagged outputs), driven through Pilot on the real app: until the
  first frame that carries the next item's id, rendered to the bytes a terminal would be sent
  (headless Textual renders nothing; the probe pays that rendering, as first paint's does).
  Each key comes READ_S after the item showed, as a reviewer's glance would: Textual finishes
  a frame with a second, small layout pass one or two frames (1/60 s) later, and a key
  pressed into that pass waits a frame longer.
  Targets: p95 <= 50 ms idle, <= 100 ms busy.
- search: query to ranked first page of results (p50, p95) over typed prefixes of 10 queries,
  in a fresh process (after one warm-up process). The first query after start is included,
  with whatever it pays once (FuzzyIndex: building the index; queue.search: lazy imports,
  cold caches), and is also shown on its own. It uses `queue.search(query, flt, limit=...)`
  when the queue has it, else `FuzzyIndex(queue.search_texts(flt)).search(query)` and a fetch
  of the first page. Target: p95 <= 150 ms.
- bulk approve: from `y` on the confirmation of a bulk approve of 1,000 marked outputs to
  the list showing the result, through Pilot; beside it, what 1,000 single decisions through
  the same queue take (estimated from 100). Target: <= 2 s.
- memory: resident memory (VmRSS; peak VmHWM alongside) of a fresh TUI process after the
  queue has loaded and one search has run through the search box.
  Target: <= 300 MB at 1M items (`--items 1000000`).

A database given with --db is copied first (the approvals write), never modified.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from _busy import both, header, pct, report
from _setup import child_env, count_items, demo_db

if TYPE_CHECKING:
    from textual.app import App

ROOT = Path(__file__).resolve().parents[1]
PAINT_TARGET = 1.5
KEY_TARGET_MS = (50, 100)  # p95, idle and busy
SEARCH_TARGET_MS = 150
MEMORY_TARGET_MB = 300  # at 1M items
BULK_N, BULK_TARGET_S = 1000, 2.0
READ_S = 0.15  # key-to-next: a glance at each item before the next key (an item takes seconds)
QUERIES = ["refund policy", "nordhavn revenue", "pasword reset", "warranty terms", "ceres foods",
           "leave per year", "escalated billing", "api rate limits", "thumbs_down", "kestrel air"]

# Both apps report the first frame whose output carries the text they wait for (the minimal
# app's "hello"; the queue name on the first row for ours): the frame is rendered to the terminal
# bytes it would write, so layout, styling and rendering are all counted, and nothing waits
# on a timer. The hook is the same for both.
PROBE = """
import time; t0 = time.perf_counter()
import textual.app as _ta
_display = _ta.App._display
def _probe(self, screen, renderable):
    if renderable is not None and WANT and WANT() in renderable.render_segments(self.console):
        print(f"PAINT {time.perf_counter() - t0:.4f}", flush=True)
        self.exit()
    return _display(self, screen, renderable)
_ta.App._display = _probe
WANT = None
"""

MINIMAL = PROBE + """
from textual.app import App
from textual.widgets import Static
class Minimal(App):
    def compose(self):
        yield Static("hello")
WANT = lambda: "hello"
Minimal().run(headless=True, size=(160, 45))
"""

OURS = PROBE + """
import sys
from reviewer.screens import make_app
from reviewer.storage.peek import peek
from reviewer.config import open_queue
first = peek(sys.argv[1])
if not first:
    sys.exit("no first page: is the database at the current schema, with open items?")
WANT = lambda: first[0].queue
app = make_app(lambda: open_queue(sys.argv[1]), reviewer="bench", config={}, peek=lambda: first)
app.run(headless=True, size=(160, 45))
"""

# Search as the queue screen does it, in a fresh process; prints the latencies as JSON.
SEARCH = """
import json, sys, time
from reviewer.config import open_queue
from reviewer.models import ItemFilter
q = open_queue(sys.argv[1])
flt = ItemFilter(status=["pending", "claimed"])
q.count(flt)  # the queue is open and read, as in the app once the list shows
index = None
def search(text):
    global index
    if hasattr(q, "search"):
        return q.search(text, flt, limit=100)
    from reviewer.search import FuzzyIndex
    if index is None:
        index = FuzzyIndex(q.search_texts(flt))
    ids = index.search(text)[:100]  # the first page, as the list shows it
    rows = {r.id: r for r in q.list(ItemFilter(ids=ids), limit=len(ids) or 1)}
    return [rows[i] for i in ids if i in rows]
times = []
for query in json.loads(sys.argv[2]):
    for k in range(1, len(query) + 1):  # as the user types
        t = time.perf_counter()
        search(query[:k])
        times.append(time.perf_counter() - t)
path = "queue.search" if hasattr(q, "search") else "FuzzyIndex"
print("TIMES " + json.dumps({"path": path, "times": times}))
"""

# The real app in a fresh process: load the queue, run one search through the search box,
# then report resident memory.
MEMORY = """
import asyncio, json, sys, time
from textual.widgets import Input
from reviewer.config import open_queue
from reviewer.screens import make_app
from reviewer.screens.queue_list import QueueList
from reviewer.storage.peek import peek
url = sys.argv[1]
def status():
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in f)
                if k in ("VmRSS", "VmHWM")}
async def settle(app, timeout=120.0):
    quiet, end = 0, time.monotonic() + timeout
    while quiet < 5 and time.monotonic() < end:
        await asyncio.sleep(0.02)
        quiet = 0 if any(not w.is_finished for w in app.workers) else quiet + 1
async def main():
    app = make_app(lambda: open_queue(url), reviewer="bench", config={},
                   peek=lambda: peek(url))
    async with app.run_test(size=(160, 45)) as pilot:
        while not (app.screen.query(QueueList) and app.screen.query_one(QueueList).total):
            await asyncio.sleep(0.01)
        await settle(app)
        loaded = status()
        app.screen.query_one("#search", Input).value = "refund policy"
        await pilot.pause()
        await settle(app)
        await pilot.pause()
        found = app.screen.query_one(QueueList).total
        print("MEMORY " + json.dumps({"loaded": loaded, "searched": status(), "found": found}))
asyncio.run(main())
"""


def child(code: str, tag: str, *args: str) -> str:
    """Run `code` in a fresh interpreter; the text after `tag` on its output line."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=ROOT, env=child_env(), timeout=1800)
    for line in out.stdout.splitlines():
        if line.startswith(tag + " "):
            return line.removeprefix(tag + " ")
    raise RuntimeError(out.stderr[-2000:])


def first_paint(url: str, runs: int) -> tuple[float, float]:
    """(ours, minimal) median seconds to first paint; runs interleaved."""
    child(MINIMAL, "PAINT")  # warm-ups: file cache, bytecode cache
    child(OURS, "PAINT", url)
    ours, base = [], []
    for _ in range(runs):
        base.append(float(child(MINIMAL, "PAINT")))
        ours.append(float(child(OURS, "PAINT", url)))
    return statistics.median(ours), statistics.median(base)


def search_latency(url: str, queries: list[str]) -> tuple[list[float], str]:
    """Seconds per keystroke (the first includes any index build), and the API used."""
    out = json.loads(child(SEARCH, "TIMES", url, json.dumps(queries)))
    return out["times"], out["path"]


def memory(url: str) -> dict[str, dict[str, float]]:
    return json.loads(child(MEMORY, "MEMORY", url))


async def settle(app: App[object], timeout: float = 120.0) -> None:
    """Until no worker (loading, paging, searching) has run for 100 ms, or `timeout` s."""
    quiet, end = 0, time.monotonic() + timeout
    while quiet < 5 and time.monotonic() < end:
        await asyncio.sleep(0.02)
        quiet = 0 if any(not w.is_finished for w in app.workers) else quiet + 1


async def key_to_next(db: str, n: int) -> list[float]:
    """Seconds from pressing `a` on a flagged output to the first frame, rendered to the bytes
    a terminal would be sent, that carries the next item's id (its title line)."""
    from textual.app import App

    from reviewer.config import open_queue
    from reviewer.models import ItemFilter
    from reviewer.screens import make_app
    from reviewer.screens.queue_list import QueueList
    from reviewer.screens.review_screen import ReviewScreen

    q = open_queue(db)
    actions = q.count(ItemFilter(kind="action", status=["pending", "claimed"]))
    q.close()
    app = make_app(lambda: open_queue(db), reviewer="bench", config={})
    waiting: dict[str, object] = {}  # "before": the id on screen when the key was pressed
    painted = asyncio.Event()
    display = App._display

    def probe(self: App[object], screen: object, renderable: object) -> None:
        display(self, screen, renderable)  # (headless: writes nothing)
        before = waiting.get("before")
        item = getattr(screen, "item", None)
        if before is None or item is None or item.id == before or renderable is None:
            return
        frame = renderable.render_segments(self.console)  # type: ignore[attr-defined]
        if item.id in frame:  # the new item's title is on screen
            waiting["at"], waiting["before"] = time.perf_counter(), None
            painted.set()

    App._display = probe  # type: ignore[method-assign]
    times: list[float] = []
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            while not (app.screen.query(QueueList) and app.screen.query_one(QueueList).total):
                await asyncio.sleep(0.01)
            await settle(app)
            lst = app.screen.query_one(QueueList)
            # Time flagged outputs (one key each): open actions come first in the list, and
            # critical ones ask for their tool name to be typed.
            for index in range(actions, lst.total):
                lst.cursor = index  # scrolls there; the page loads
                end = time.monotonic() + 30
                while (row := lst.summary_at(index)) is None and time.monotonic() < end:
                    await asyncio.sleep(0.005)
                if row is not None and row.kind == "output":
                    break
            else:
                raise RuntimeError("no flagged output in the queue list")
            await pilot.press("enter")
            while not (isinstance(app.screen, ReviewScreen) and app.screen.item is not None):
                await asyncio.sleep(0.001)
            screen = app.screen
            await settle(app, timeout=5.0)
            for _ in range(n):
                await asyncio.sleep(READ_S)  # the reviewer reads the item
                await pilot.pause()
                assert screen.item is not None
                painted.clear()
                waiting["before"] = screen.item.id
                t = time.perf_counter()
                app.simulate_key("a")  # the same path as a real key press
                await asyncio.wait_for(painted.wait(), 10.0)
                times.append(float(waiting["at"]) - t)  # type: ignore[arg-type]
    finally:
        App._display = display  # type: ignore[method-assign]
    return times


async def bulk_approve(db: str, n: int) -> tuple[float, float]:
    """(seconds from `y` on the confirmation of a bulk approve of `n` marked outputs until
    the list shows the result, seconds for `n` single decisions through the same queue,
    estimated from 100)."""
    from reviewer.config import open_queue
    from reviewer.models import DecisionIn, ItemFilter
    from reviewer.screens import make_app
    from reviewer.screens.dialogs import BulkConfirm
    from reviewer.screens.queue_list import QueueList

    q = open_queue(db)
    rows = q.list_items(ItemFilter(kind="output", status=["pending"]), limit=n + 100)
    t = time.perf_counter()
    for r in rows[n:]:
        q.decide(r.id, DecisionIn(verdict="approve", reviewer="bench"))
    single = (time.perf_counter() - t) / max(1, len(rows) - n) * n
    q.close()
    app = make_app(lambda: open_queue(db), reviewer="bench", config={})
    async with app.run_test(size=(160, 45)) as pilot:
        while not (app.screen.query(QueueList) and app.screen.query_one(QueueList).total):
            await asyncio.sleep(0.01)
        await settle(app)
        lst = app.screen.query_one(QueueList)
        lst.set_marks({r.id: r for r in rows[:n]})
        await pilot.press("a")
        while not isinstance(app.screen, BulkConfirm):
            await asyncio.sleep(0.005)
        t = time.perf_counter()
        await pilot.press("y")
        while lst.marked:
            await asyncio.sleep(0.002)
        await settle(app, timeout=30)  # the reload after it
        took = time.perf_counter() - t - 0.1  # settle waits 100 ms of quiet
    return took, single


def ms(s: float) -> str:
    return f"{s * 1000:5.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--db", help="use a copy of this demo database (built if missing)")
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5, help="first-paint runs (median)")
    ap.add_argument("--quick", action="store_true", help="fewer runs, decisions and queries")
    args = ap.parse_args()
    runs, decisions, queries = (3, 40, QUERIES[:4]) if args.quick else (args.runs, args.decisions, QUERIES)

    url = demo_db(args.db, args.items, scratch=True)
    items = count_items(Path(url.removeprefix("sqlite:///")))
    header("reviewer TUI")

    (ours_i, base_i), (ours_b, base_b) = both(first_paint, url, runs)
    report("first paint", f"{ours_i * 1000:4.0f} ms vs minimal {base_i * 1000:4.0f} = {ours_i / base_i:.2f}x",
           f"{ours_b * 1000:4.0f} ms vs minimal {base_b * 1000:4.0f} = {ours_b / base_b:.2f}x",
           f"ratio <= {PAINT_TARGET}, median of {runs}")

    search_latency(url, queries[:1])  # warm-up: file cache, bytecode cache, as for the others
    (s_i, path), (s_b, _) = both(search_latency, url, queries)
    report("search", f"p50 {ms(pct(s_i, 50))} p95 {ms(pct(s_i, 95))}",
           f"p50 {ms(pct(s_b, 50))} p95 {ms(pct(s_b, 95))}",
           f"p95 <= {SEARCH_TARGET_MS} ms, {len(s_i)} keystrokes, {path}")
    once = " (incl. index build)" if path == "FuzzyIndex" else ""
    report("  first query", f"{ms(s_i[0])}{once}", f"{ms(s_b[0])}{once}", "included in p95")

    k_i, k_b = both(lambda: asyncio.run(key_to_next(url, decisions)))
    report("key-to-next", f"p50 {ms(pct(k_i, 50))} p95 {ms(pct(k_i, 95))}",
           f"p50 {ms(pct(k_b, 50))} p95 {ms(pct(k_b, 95))}",
           f"p95 <= {KEY_TARGET_MS[0]} ms idle, <= {KEY_TARGET_MS[1]} ms busy, {decisions} approvals")

    (b_i, one_i), (b_b, one_b) = both(lambda: asyncio.run(bulk_approve(url, BULK_N)))
    report(f"bulk approve {BULK_N:,}", f"{b_i:5.2f} s (one by one {one_i:4.1f} s)",
           f"{b_b:5.2f} s (one by one {one_b:4.1f} s)", f"<= {BULK_TARGET_S} s, marked to listed")

    m_i, m_b = both(memory, url)

    def mem(m: dict[str, dict[str, float]]) -> str:
        return f"{m['searched']['VmRSS']:4.0f} MB (peak {m['searched']['VmHWM']:.0f})"

    report("memory (RSS)", mem(m_i), mem(m_b),
           f"<= {MEMORY_TARGET_MB} MB at 1M items; here {items:,}")
    print(f"  RSS after loading the queue, before the search: {m_i['loaded']['VmRSS']:.0f} MB; "
          f"the search found {m_i['found']:,} items")


if __name__ == "__main__":
    main()
