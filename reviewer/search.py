"""Fuzzy search over the queue: cheap candidate selection, then rapidfuzz ranks.

Brute-force `WRatio` over 100k texts takes about a second, so candidates come first: items
whose text contains every query word (a substring scan, rarest-looking word first). A word
that no text contains is taken as a typo and replaced by its nearest vocabulary words
(rapidfuzz over the distinct words, not over the texts). rapidfuzz then ranks the first
`RANK_LIMIT` candidates; the rest follow in queue order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TEXT_CHARS = 300
RANK_LIMIT = 2000
_WORD = re.compile(r"\w+")


class FuzzyIndex:
    """Search texts for a set of items, in queue order."""

    def __init__(self, rows: Sequence[tuple[str, str]]):
        self.ids = [r[0] for r in rows]
        self.texts = [r[1][:TEXT_CHARS].lower() for r in rows]
        self.vocab = sorted(set(_WORD.findall("\n".join(self.texts))))

    def __len__(self) -> int:
        return len(self.ids)

    def _scan(self, word: str, within: list[int] | None) -> list[int]:
        texts = self.texts
        if within is None:
            return [i for i, t in enumerate(texts) if word in t]
        return [i for i in within if word in texts[i]]

    def _alternatives(self, word: str) -> list[str]:
        from rapidfuzz import fuzz, process

        found = process.extract(word, self.vocab, scorer=fuzz.ratio, score_cutoff=70, limit=3)
        return [w for w, _, _ in found]

    def candidates(self, words: list[str]) -> list[int]:
        cands: list[int] | None = None
        for w in sorted(words, key=len, reverse=True):
            hits = self._scan(w, cands)
            if not hits:  # a typo? try the nearest real words
                hits = sorted({i for alt in self._alternatives(w) for i in self._scan(alt, cands)})
            if not hits:
                return []
            cands = hits
        return cands or []

    def search(self, query: str, limit: int = 1000) -> list[str]:
        """Ids of matching items, best first."""
        from rapidfuzz import fuzz, process

        q = " ".join(query.lower().split())
        if not q:
            return self.ids[:limit]
        cands = self.candidates(q.split())
        head = cands[:RANK_LIMIT]
        ranked = process.extract(q, {i: self.texts[i] for i in head}, scorer=fuzz.WRatio,
                                 limit=len(head))
        order = [i for _, _, i in ranked] + cands[RANK_LIMIT:]
        return [self.ids[i] for i in order[:limit]]
