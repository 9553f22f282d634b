"""`reviewer export --dedup T`: near-duplicate inputs collapsed, the latest decision kept.

Two items are near-duplicates when their inputs (the last user message, or the input text)
score at least T (0-100) with rapidfuzz's `token_sort_ratio` (case and punctuation aside). Candidates are compared only
within blocks (inputs sharing their three longest words, or their first 24 characters), so a
large export stays near linear; the newest decision of a cluster is kept, the others are
dropped, each with the id it duplicates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    item_id: str
    decided_at: datetime
    text: str


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _blocks(text: str) -> list[str]:
    words = sorted(set(_WORD.findall(text)), key=lambda w: (-len(w), w))[:3]
    return ["w:" + " ".join(sorted(words)), "p:" + text[:24]]


def near_duplicates(candidates: list[Candidate], threshold: float) -> dict[str, str]:
    """item id -> why it is dropped (`near-duplicate input of ID (score)`), keeping the newest
    decision of each cluster."""
    from rapidfuzz import fuzz, utils

    kept: dict[str, list[Candidate]] = defaultdict(list)
    dropped: dict[str, str] = {}
    for c in sorted(candidates, key=lambda c: c.decided_at, reverse=True):
        best: tuple[float, Candidate] | None = None
        for block in _blocks(c.text):
            for other in kept[block]:
                score = fuzz.token_sort_ratio(c.text, other.text, processor=utils.default_process,
                                              score_cutoff=threshold)
                if score and (best is None or score > best[0]):
                    best = (score, other)
        if best is not None:
            dropped[c.item_id] = f"near-duplicate input of {best[1].item_id} ({best[0]:.0f})"
        else:
            for block in _blocks(c.text):
                kept[block].append(c)
    return dropped
