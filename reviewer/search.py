"""Fuzzy search, the part every queue shares: query words, and ranking candidates.

A queue finds candidates with its own full-text index (`storage.fts`): items holding every
query word as a word prefix, a misspelt word replaced by its nearest indexed words. rapidfuzz
then ranks at most `RANK_LIMIT` candidates by how well their text matches the whole query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

TEXT_CHARS = 300  # of each candidate's text, for ranking
RANK_LIMIT = 1000
MAX_WORDS = 8
MIN_CHARS = 2
_WORD = re.compile(r"\w+")


def words(query: str) -> list[str]:
    """The query's words: NFKC, lower case, at least MIN_CHARS long (one letter selects half
    the queue and costs the most to look up), at most MAX_WORDS, longest first."""
    found = [w for w in _WORD.findall(unicodedata.normalize("NFKC", query).lower()) if len(w) >= MIN_CHARS]
    return sorted(dict.fromkeys(found), key=len, reverse=True)[:MAX_WORDS]


def nearest(word: str, vocabulary: Sequence[str], limit: int = 3) -> list[str]:
    """Indexed words close to a misspelt `word` (`pasword` -> `password`)."""
    from rapidfuzz import fuzz, process

    found = process.extract(word, vocabulary, scorer=fuzz.ratio, score_cutoff=70, limit=limit)
    return [w for w, _, _ in found]


def rank(query: str, candidates: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """Ids of `candidates` ((id, text) pairs), the `limit` best matches for `query` first: the
    query's words found as whole words first, then as word beginnings, then by rapidfuzz's
    score (which alone ties every text that holds the query somewhere)."""
    from rapidfuzz import fuzz

    q = " ".join(query.lower().split())
    ws = words(query)
    whole = [re.compile(rf"\b{re.escape(w)}\b") for w in ws]
    begins = [re.compile(rf"\b{re.escape(w)}") for w in ws]
    texts = [text[:TEXT_CHARS].lower() for _, text in candidates[:RANK_LIMIT]]

    def key(i: int) -> tuple[int, int, float, int]:
        t = texts[i]
        return (-sum(bool(p.search(t)) for p in whole), -sum(bool(p.search(t)) for p in begins),
                -fuzz.WRatio(q, t, processor=None), i)

    order = sorted(range(len(texts)), key=key)[:limit]
    if len(order) < limit:
        order += range(len(texts), min(len(candidates), len(texts) + limit - len(order)))
    return [candidates[i][0] for i in order]


SIMILAR_CUTOFF = 90  # token_sort_ratio (0-100) of two bodies from which they are near-duplicates
SIMILAR_WIDE = 50  # the first, wider pass over the queue's search texts
SIMILAR_SHORTLIST = 300  # candidates the first pass hands to the exact comparison
SIMILAR_POOL = 20_000  # open items of the queue compared at most (the newest)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def shortlist(target: str, candidates: Sequence[tuple[str, str]]) -> list[str]:
    """Ids of `candidates` ((id, search text) pairs) worth comparing closely with `target`."""
    from rapidfuzz import fuzz, process, utils

    found = process.extract(target, [t for _, t in candidates], scorer=fuzz.token_set_ratio,
                            processor=utils.default_process, score_cutoff=SIMILAR_WIDE, limit=SIMILAR_SHORTLIST)
    return [candidates[i][0] for _, _, i in found]


def near_duplicate(a: str, b: str) -> float | None:
    """How close two items' bodies (an output, or a tool call with its arguments) are, 0-100,
    when they are near-duplicates: the same figures, and the same words give or take a few,
    in any order. None when they are not; a decision on one then says nothing about the other."""
    from rapidfuzz import fuzz, utils

    if sorted(_NUMBER.findall(a)) != sorted(_NUMBER.findall(b)):
        return None
    score = fuzz.token_sort_ratio(a, b, processor=utils.default_process, score_cutoff=SIMILAR_CUTOFF)
    return score or None
