"""Shared by the benchmarks: run a measurement on an idle machine, then beside one CPU hog.

A reviewer's laptop is never idle, so every figure is printed twice in the same run:

    from _busy import both, pct, report
    idle, loaded = both(measure, url)          # measure(url) idle, then with busy() running
    report("first paint", f"{idle:.0f} ms", f"{loaded:.0f} ms", "<= 1.5x")

`busy()` starts ONE CPU-bound process (on a 2-core machine: half the machine) and kills it on
exit. Before the idle run, `both()` waits (up to IDLE_WAIT_S) for the machine to be idle; during
each run it counts the CPU used by processes other than this one and its children, and prints
a warning when that was noticeable, so a figure disturbed by someone else's work is visible as
such instead of silently wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# A Python spin loop (`while True: pass`) that ends by itself if this process dies.
HOG = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""
NOT_IDLE = 0.3  # cores busy elsewhere that make the machine not idle
IDLE_WAIT_S = 30.0  # how long both() waits for an idle machine before the idle run


@contextmanager
def busy() -> Iterator[None]:
    """One CPU-bound subprocess for the duration of the block."""
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(0.2)  # let it get going and be scheduled
        yield
    finally:
        hog.kill()
        hog.wait()


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_load(seconds: float = 0.3) -> float | None:
    """Cores in use over `seconds` (by everything: call it while this process sleeps)."""
    try:
        b0, t0 = _cpu_times()
        time.sleep(seconds)
        b1, t1 = _cpu_times()
    except OSError:  # not Linux
        return None
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


def _own_cpu() -> float:
    """CPU seconds of this process and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _others(fn: Callable[[], T]) -> tuple[T, float | None]:
    """fn's result, and the cores used meanwhile by processes that are not ours."""
    try:
        b0, _ = _cpu_times()
    except OSError:
        return fn(), None
    c0, w0 = _own_cpu(), time.monotonic()
    result = fn()
    b1, _ = _cpu_times()
    c1, w1 = _own_cpu(), time.monotonic()
    machine = (b1 - b0) / os.sysconf("SC_CLK_TCK")
    return result, max(0.0, machine - (c1 - c0)) / max(1e-9, w1 - w0)


def both(fn: Callable[..., T], *args: object, **kwargs: object) -> tuple[T, T]:
    """`fn(*args, **kwargs)` on an idle machine, then with `busy()`: (idle, busy) results."""
    deadline = time.monotonic() + IDLE_WAIT_S
    while (load := machine_load()) is not None and load > NOT_IDLE and time.monotonic() < deadline:
        pass

    def loaded() -> T:
        with busy():
            return fn(*args, **kwargs)

    idle, other_idle = _others(lambda: fn(*args, **kwargs))
    busy_, other_busy = _others(loaded)
    if max(other_idle or 0.0, other_busy or 0.0) > NOT_IDLE:
        print(f"  (warning: other processes used {other_idle:.1f} cores during the idle run and "
              f"{other_busy:.1f} during the busy run: the figures below are disturbed)", flush=True)
    return idle, busy_


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile of `xs` (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(name: str, idle: str, loaded: str, target: str) -> None:
    """One aligned line: name : idle ... | busy ... (target ...)."""
    print(f"{name:<22}: idle {idle:<34} | busy {loaded:<34} (target {target})", flush=True)


def header(title: str) -> None:
    """What ran where: the title, core count and the load before starting."""
    load = machine_load(1.0)
    seen = f"{load:.1f} cores busy before start" if load is not None else "load unknown"
    print(f"{title} ({os.cpu_count()} cores, {seen}; busy = one Python spin loop beside it)", flush=True)
