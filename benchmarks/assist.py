"""The litellm callback's cost to the app: a mocked `litellm.completion` with the Flagger
against the same call without it, interleaved in the same run, idle and beside one CPU-bound
process. Goal: the added time under 1 ms at p95.

    python benchmarks/assist.py [--calls 500]

The Flagger here flags every output (sample_rate=1) into a local queue, the most work it can
hand its background thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from _busy import both, header, pct, report

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
GOAL_MS = 1.0


def overhead(calls: int) -> tuple[list[float], list[float]]:
    import litellm

    from reviewer.integrations.litellm import Flagger

    flagger = Flagger(sample_rate=1.0, db=os.path.join(tempfile.mkdtemp(), "assist.db"))
    msgs = [{"role": "user", "content": "Can I return my headphones?"}]
    plain, flagged = [], []
    for i in range(calls):
        for callbacks, out in (([], plain), ([flagger], flagged)):
            litellm.callbacks = callbacks
            t = time.perf_counter()
            litellm.completion(model="gpt-4o-mini", messages=msgs, mock_response=f"Yes, within 30 days ({i}).")
            out.append(time.perf_counter() - t)
    litellm.callbacks = []
    flagger.flush(60)
    return plain, flagged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()
    overhead(20)  # warm-up: imports, the queue file
    header("reviewer assist: the litellm callback")
    (p_i, f_i), (p_b, f_b) = both(overhead, args.calls)

    def show(plain: list[float], flagged: list[float]) -> str:
        return (f"{(pct(flagged, 50) - pct(plain, 50)) * 1000:+.2f} ms p50, "
                f"{(pct(flagged, 95) - pct(plain, 95)) * 1000:+.2f} ms p95 "
                f"(call {statistics.median(plain) * 1000:.1f} ms)")

    report("callback overhead", show(p_i, f_i), show(p_b, f_b), f"< {GOAL_MS} ms at p95, {args.calls} calls each")


if __name__ == "__main__":
    main()
