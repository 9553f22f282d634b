"""What the human decisions say about the flaggers, the model and the reviewers: `reviewer
report`.

Pure functions over decided items (QueueItem, with their decision history):
- per flag reason (a judge, a guardrail, a user signal): how many decided items it flagged,
  how many humans confirmed (reject or correct) and overturned (approve): its precision, with a
  95% Wilson interval, and, for scored flags, the score at or below which it stays precise;
- per queue: the failure modes (reasons of rejects and corrections), by ISO week;
- per reviewer: decisions, median time per decision, and Cohen's kappa with each reviewer
  who decided the same items;
- per queue, judge model and prompt version: how often the human's verdict was the one the judge suggested,
  and the kappa between them.
Only human decisions count; policies and deadlines say nothing about the flaggers.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .models import Decision, QueueItem
from .rules import standing_decision

CONFIRMS = ("reject", "correct")  # a human agreed something was wrong
PRECISE = 0.8  # a suggested threshold keeps a flag's precision at least this high
MIN_SCORED = 10  # decided items with a score before a threshold is suggested


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion `hits / n` ((0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (None without items, or when
    chance agreement is certain and so kappa is undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


@dataclass
class FlagFigures:
    reason: str
    flagged: int = 0
    confirmed: int = 0
    overturned: int = 0
    precision: float | None = None
    interval: tuple[float, float] = (0.0, 1.0)
    suggested_threshold: float | None = None  # flag when score <= this


@dataclass
class ReviewerFigures:
    reviewer: str
    decisions: int = 0
    median_ms: int | None = None
    per_hour: float | None = None  # at the median pace


@dataclass
class Agreement:
    a: str
    b: str
    items: int
    kappa: float | None


@dataclass
class JudgeFigures:
    queue: str
    model: str
    prompt_version: str  # a new prompt is a new judge: its figures are its own
    items: int = 0  # decided by a human after the judge suggested
    agreed: int = 0  # the human's verdict was the suggested one
    rate: float | None = None
    interval: tuple[float, float] = (0.0, 1.0)
    kappa: float | None = None


@dataclass
class Report:
    flags: list[FlagFigures] = field(default_factory=list)
    failure_modes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # queue -> week -> reason -> n
    reviewers: list[ReviewerFigures] = field(default_factory=list)
    agreement: list[Agreement] = field(default_factory=list)
    judges: list[JudgeFigures] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _opinions(item: QueueItem) -> dict[str, Decision]:
    """Each human reviewer's last decision on the item that was not undone."""
    reverted = {d.reverts for d in item.decisions if d.reverts}
    out: dict[str, Decision] = {}
    for d in item.decisions:
        if d.by == "human" and d.verdict != "revert" and d.id not in reverted:
            out[d.reviewer] = d
    return out


def _threshold(scored: list[tuple[float, bool]]) -> float | None:
    """The highest score at or below which the flag is still confirmed at least PRECISE of
    the time, once MIN_SCORED items were decided."""
    if len(scored) < MIN_SCORED:
        return None
    best, hits = None, 0
    for n, (score, confirmed) in enumerate(sorted(scored), 1):
        hits += confirmed
        if n >= MIN_SCORED and hits / n >= PRECISE:
            best = score
    return best


def build(items: Iterable[QueueItem]) -> Report:
    flags: dict[str, FlagFigures] = {}
    scored: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    modes: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    durations: dict[str, list[int]] = defaultdict(list)
    counts: Counter[str] = Counter()
    labels: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    judged: dict[tuple[str, str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for item in items:
        d = standing_decision(item)
        opinions = _opinions(item)
        for who, o in opinions.items():
            counts[who] += 1
            if o.duration_ms is not None:
                durations[who].append(o.duration_ms)
        names = sorted(opinions)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                la, lb = labels[(a, b)]
                la.append(opinions[a].verdict)
                lb.append(opinions[b].verdict)
        if d is None or d.by != "human":
            continue
        for s in item.suggestions:  # one per model and prompt version
            human, judge = judged[(item.queue, s.model, s.prompt_version)]
            human.append(d.verdict)
            judge.append(s.verdict)
        confirmed = d.verdict in CONFIRMS
        for f in item.item.flags:
            fig = flags.setdefault(f.reason, FlagFigures(f.reason))
            fig.flagged += 1
            fig.confirmed += confirmed
            fig.overturned += not confirmed
            if f.score is not None:
                scored[f.reason].append((f.score, confirmed))
        if confirmed:
            year, week, _ = d.decided_at.isocalendar()
            for r in d.reasons or ["(no reason)"]:
                modes[item.queue][f"{year}-W{week:02d}"][r] += 1
    for fig in flags.values():
        fig.precision = fig.confirmed / fig.flagged if fig.flagged else None
        fig.interval = wilson(fig.confirmed, fig.flagged)
        fig.suggested_threshold = _threshold(scored[fig.reason])
    reviewers = []
    for who, n in sorted(counts.items()):
        median = int(statistics.median(durations[who])) if durations[who] else None
        reviewers.append(ReviewerFigures(who, n, median, round(3_600_000 / median, 1) if median else None))
    return Report(
        flags=sorted(flags.values(), key=lambda f: (-f.flagged, f.reason)),
        failure_modes={q: {w: dict(c.most_common()) for w, c in sorted(weeks.items())} for q, weeks in sorted(modes.items())},
        reviewers=reviewers,
        agreement=[Agreement(a, b, len(la), cohen_kappa(la, lb)) for (a, b), (la, lb) in sorted(labels.items())],
        judges=[_judge(q, m, p, human, judge) for (q, m, p), (human, judge) in sorted(judged.items())],
    )


def _judge(queue: str, model: str, prompt: str, human: list[str], judge: list[str]) -> JudgeFigures:
    agreed = sum(h == j for h, j in zip(human, judge, strict=True))
    return JudgeFigures(queue, model, prompt, len(human), agreed, agreed / len(human), wilson(agreed, len(human)),
                        cohen_kappa(human, judge))
