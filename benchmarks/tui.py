"""TUI speed on a 100k-item queue, against baselines measured in the same run.

    python benchmarks/tui.py [--items 100000] [--db PATH]

Reports:
- first paint: time from process start to the queue screen showing its first rows, and its
  ratio to a minimal Textual app's first paint (both headless, fresh processes, median of 5),
  built the way `reviewer` builds it (first page from storage.peek, the ORM after the paint);
- key-to-next-item: after pressing `a`, time until the next item is on screen (p50, p95
  over 200 decisions), driven through Pilot on the real app;
- fuzzy search: query to ranked first page of results (p50, p95) over typed prefixes.

Targets (issue 3): first paint within 2x of the minimal app; p95 key-to-next <= 50 ms;
p95 search <= 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINIMAL = """
import time; t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Static
class Minimal(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.done)
    def done(self):
        print(f"PAINT {time.perf_counter() - t0:.4f}")
        self.exit()
Minimal().run(headless=True, size=(160, 45))
"""

OURS = """
import time; t0 = time.perf_counter()
import sys
from screens import make_app
from screens.queue_list import QueueList
from storage.peek import peek
from reviewer.config import open_queue
app = make_app(lambda: open_queue(sys.argv[1]), reviewer="bench", config={}, peek=lambda: peek(sys.argv[1]))
def check():
    lists = app.screen.query(QueueList)
    if lists and lists.first().total > 0 and lists.first().summary_at(0) is not None:
        timer.stop()
        app.call_after_refresh(done)
def done():
    print(f"PAINT {time.perf_counter() - t0:.4f}")
    app.exit()
timer = None
def start():
    global timer
    timer = app.set_interval(0.002, check)
app.call_later(start)
app.run(headless=True, size=(160, 45))
"""


def paint(code: str, *args: str) -> float:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("PAINT"):
            return float(line.split()[1])
    raise RuntimeError(out.stderr[-2000:])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def key_to_next(db: str, n: int) -> list[float]:
    from reviewer.config import open_queue
    from reviewer.settings import Settings
    from screens import make_app
    from screens.queue_list import QueueList
    from screens.review_screen import ReviewScreen

    app = make_app(lambda: open_queue(db), reviewer="bench", settings=Settings(), config={})
    times: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        while not (app.screen.query(QueueList) and app.screen.query_one(QueueList).total):
            await asyncio.sleep(0.01)
        lst = app.screen.query_one(QueueList)
        while lst.source.ids is None:  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
        # Time flagged outputs (one key each); pending actions come first in the list, and
        # critical ones ask for their tool name to be typed.
        kinds = [r.kind for r in lst.source.fetch(0, 20_000)]  # type: ignore[union-attr]
        lst.cursor = kinds.index("output")
        await pilot.press("enter")
        while not (isinstance(app.screen, ReviewScreen) and app.screen.item is not None):
            await asyncio.sleep(0.001)
        screen = app.screen
        for _ in range(n):
            await pilot.pause()
            before = screen.item.id
            painted = asyncio.Event()
            t = time.perf_counter()
            app.simulate_key("a")  # the same path as a real key press
            while screen.item is None or screen.item.id == before:
                await asyncio.sleep(0.0005)
            app.call_after_refresh(painted.set)  # the new item is laid out and painted
            await painted.wait()
            times.append(time.perf_counter() - t)
    return times


def search_latency(db: str) -> tuple[list[float], float]:
    from reviewer.config import open_queue
    from reviewer.models import ItemFilter
    from reviewer.search import FuzzyIndex
    from screens.source import IdsSource

    q = open_queue(db)
    flt = ItemFilter(status=["pending", "claimed"])
    t = time.perf_counter()
    index = FuzzyIndex(q.search_texts(flt))
    build = time.perf_counter() - t
    queries = ["refund policy", "nordhavn revenue", "pasword reset", "warranty terms", "ceres foods",
               "leave per year", "escalated billing", "api rate limits", "thumbs_down", "kestrel air"]
    times = []
    for query in queries:
        for k in range(1, len(query) + 1):  # as the user types
            t = time.perf_counter()
            ids = index.search(query[:k])
            IdsSource(q, ids).fetch(0, 100)
            times.append(time.perf_counter() - t)
    return times, build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--db", help="reuse this demo database (built if missing)")
    ap.add_argument("--decisions", type=int, default=200)
    args = ap.parse_args()

    from reviewer.demo import build_demo

    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "bench.db"
    if not path.exists():
        t = time.perf_counter()
        build_demo(path, args.items)
        print(f"built {args.items:,} items in {time.perf_counter() - t:.1f} s")
    url = f"sqlite:///{path}"

    paint(MINIMAL)  # warm the file cache
    base = statistics.median(paint(MINIMAL) for _ in range(5))
    ours = statistics.median(paint(OURS, url) for _ in range(5))
    print(f"first paint     : {ours * 1000:6.0f} ms vs minimal Textual app {base * 1000:.0f} ms "
          f"-> ratio {ours / base:.2f} (target <= 2.0)")

    s, build = search_latency(url)
    print(f"fuzzy search    : p50 {pct(s, 50) * 1000:5.1f} ms  p95 {pct(s, 95) * 1000:5.1f} ms "
          f"over {len(s)} keystrokes (target p95 <= 150 ms); index built in {build:.2f} s")

    k = asyncio.run(key_to_next(url, args.decisions))
    print(f"key-to-next     : p50 {pct(k, 50) * 1000:5.1f} ms  p95 {pct(k, 95) * 1000:5.1f} ms "
          f"over {len(k)} approvals (target p95 <= 50 ms)")


if __name__ == "__main__":
    main()
