"""Search candidates from the database's full-text index (migration 0004).

SQLite: an FTS5 table `items_fts` (rowid = items.seq) over `id + search_text`, with prefix
indexes, so a word typed so far (`refu`) matches as a prefix; a word that matches nothing is
taken as a typo and replaced by its nearest words from the index's vocabulary. PostgreSQL:
`to_tsvector('simple', ...)` prefix queries on a GIN index, without typo correction.
Ranking is `reviewer.search.rank`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from reviewer.search import RANK_LIMIT, TEXT_CHARS, nearest

VOCAB_LIMIT = 50_000  # words looked at for one misspelt word (same first letter)


def index_new_items(conn: Connection, after_seq: int) -> None:
    """Index the items inserted after `after_seq` (SQLite; PostgreSQL indexes by itself)."""
    conn.exec_driver_sql("INSERT INTO items_fts(rowid, text) SELECT seq, id || ' ' || search_text "
                         "FROM items WHERE seq > ?", (after_seq,))


def _fts_term(word: str) -> str:
    return '"' + word.replace('"', '""') + '"*'


def _sqlite_terms(conn: Connection, words: list[str]) -> list[list[str]] | None:
    """For each word, itself if some item has it (as a prefix), else its nearest indexed
    words; None when a word has neither."""
    out = []
    for w in words:
        hit = conn.exec_driver_sql("SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT 1",
                                   (_fts_term(w),)).first()
        if hit is not None:
            out.append([w])
            continue
        vocab = [r[0] for r in conn.exec_driver_sql(
            "SELECT term FROM items_fts_vocab WHERE term >= ? AND term < ? LIMIT ?",
            (w[0], chr(ord(w[0]) + 1), VOCAB_LIMIT))]
        alternatives = nearest(w, vocab)
        if not alternatives:
            return None
        out.append(alternatives)
    return out


def candidates(conn: Connection, sqlite: bool, words: list[str], where: list[Any]) -> list[tuple[str, str]]:
    """Up to RANK_LIMIT (id, text to rank) pairs of items matching every word and `where`."""
    from sqlalchemy import func, literal_column, select

    from .tables import items

    if sqlite:
        terms = _sqlite_terms(conn, words)
        if terms is None:
            return []
        match = " AND ".join("(" + " OR ".join(_fts_term(a) for a in alts) + ")" for alts in terms)
        hits: Any = select(literal_column("rowid")).select_from(text("items_fts")).where(
            text("items_fts MATCH :m").bindparams(m=match))
        cond = items.c.seq.in_(hits)
    else:
        query = " & ".join("'" + w.replace("'", "''").replace("\\", "\\\\") + "':*" for w in words)
        # the same expression as the index, literally, so the planner uses it
        vector: Any = literal_column("to_tsvector('simple', items.id || ' ' || items.search_text)")
        cond = vector.op("@@")(func.to_tsquery(literal_column("'simple'"), query))
    q = select(items.c.id, func.substr(items.c.search_text, 1, TEXT_CHARS)).where(cond, *where).limit(RANK_LIMIT)
    return [(r[0], r[1]) for r in conn.execute(q)]
