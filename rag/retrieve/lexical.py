"""The lexical side of retrieval: SQLite FTS5 tables on disk, BM25-ranked, with top-k pruning.

Nothing is loaded into memory: a search is a few SQL queries, and ingest adds or removes rows in the same
transaction that records the article (rag/ingest/catalog.py), so the index is always in step with the
chunk catalogue. Keyed by the chunk's rowid in ``chunks``:

- ``chunk_fts(tokens)``: the chunk's `lexical_tokens` (folded, alias-normalised, stemmed), joined by
  spaces. Indexing pre-tokenised text keeps the query and the document sides normalised by the same Python
  function; FTS5's tokenizer only splits on the spaces.
- ``lex_terms(term, df)`` and ``lex_totals``: how many chunks hold each token, and the number of chunks
  and tokens, kept in the same transactions. They make BM25's statistics an index probe, which is what
  lets a search skip the long posting lists of common words (see `search`).
- ``spell_fts(words)``: the chunk's folded surface words, for the spelling vocabulary. ``spell_vocab``
  (an ``fts5vocab`` table) lists them, so a lookup is an index probe, not a scan of every chunk.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from rag.text.lexicon import Lexicon, fold
from rag.text.tokens import lexical_tokens

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(tokens, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_fts, row);
CREATE TABLE IF NOT EXISTS lex_terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lex_totals (id INTEGER PRIMARY KEY CHECK (id = 1), chunks INTEGER NOT NULL,
    tokens INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS spell_fts USING fts5(words, detail=none, columnsize=0,
    tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS spell_vocab USING fts5vocab(spell_fts, row);
"""

# FTS5's bm25() constants, so the pruned and the exact search rank alike.
K1 = 1.2
B = 0.75

_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


@dataclass(frozen=True)
class Pruning:
    """How much of the index one search may read (Settings.lexical_postings).

    `postings` bounds the posting-list entries FTS5 scores for one question; `pool` is how many of the
    best-scoring chunks of that reduced query are then scored on every query word; `rounds` above 1 lets
    a search that cannot prove its top k exact match more words (twice the budget each round).
    """

    postings: int = 40_000
    pool: int = 1000
    rounds: int = 1


def surface_words(text: str) -> list[str]:
    """Folded words of `text` as the spelling corrector knows them (letters only, two or more)."""
    words = (fold(w).strip("'") for w in _WORD.findall(text))
    return [w for w in words if len(w) > 1]


def index_chunk(conn: sqlite3.Connection, rowid: int, text: str, lexicon: Lexicon) -> None:
    """Add one chunk's rows (call inside the ingest transaction)."""
    tokens = lexical_tokens(text, lexicon)
    conn.execute("INSERT INTO chunk_fts(rowid, tokens) VALUES (?, ?)", (rowid, " ".join(tokens)))
    conn.execute("INSERT INTO spell_fts(rowid, words) VALUES (?, ?)", (rowid, " ".join(surface_words(text))))
    _count(conn, tokens, +1)


def unindex_chunks(conn: sqlite3.Connection, rowids: Iterable[int]) -> None:
    """Remove chunks' rows (call inside the ingest transaction)."""
    rows = [(r,) for r in rowids]
    for (rowid,) in rows:
        found = conn.execute("SELECT tokens FROM chunk_fts WHERE rowid = ?", (rowid,)).fetchone()
        if found is not None:
            _count(conn, str(found[0]).split(), -1)
    conn.executemany("DELETE FROM chunk_fts WHERE rowid = ?", rows)
    conn.executemany("DELETE FROM spell_fts WHERE rowid = ?", rows)


def clear(conn: sqlite3.Connection) -> None:
    """Empty every lexical table (call inside a write transaction)."""
    for table in ("chunk_fts", "spell_fts", "lex_terms", "lex_totals"):
        conn.execute(f"DELETE FROM {table}")


def _count(conn: sqlite3.Connection, tokens: list[str], sign: int) -> None:
    conn.executemany("INSERT INTO lex_terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                     [(t, sign) for t in set(tokens)])
    conn.execute("INSERT INTO lex_totals VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                 "chunks = chunks + excluded.chunks, tokens = tokens + excluded.tokens", (sign, sign * len(tokens)))


def has_stats(conn: sqlite3.Connection) -> bool:
    """True when the term statistics are in step with the index (or both are empty)."""
    totals = conn.execute("SELECT chunks FROM lex_totals WHERE id = 1").fetchone()
    if totals is not None:
        return True
    return conn.execute("SELECT 1 FROM chunk_fts LIMIT 1").fetchone() is None


def rebuild_stats(conn: sqlite3.Connection) -> None:
    """Recompute the term statistics from the FTS5 index itself (one pass over its vocabulary: for an
    index written before they were kept, or after rows were copied in by SQL). Call inside a write
    transaction."""
    conn.execute("DELETE FROM lex_terms")
    conn.execute("DELETE FROM lex_totals")
    conn.execute("INSERT INTO lex_terms SELECT term, doc FROM chunk_vocab")
    conn.execute("INSERT INTO lex_totals SELECT 1, (SELECT count(*) FROM chunk_fts), coalesce(sum(cnt), 0) "
                 "FROM chunk_vocab")


def match_expression(tokens: list[str]) -> str | None:
    """An FTS5 query matching any of the tokens (each quoted, so no token is read as an operator)."""
    unique = list(dict.fromkeys(t for t in tokens if t))
    return " OR ".join(f'"{t}"' for t in unique) if unique else None


def search(conn: sqlite3.Connection, tokens: list[str], k: int, max_day: int | None = None,
           pruning: Pruning | None = None) -> list[tuple[str, float]]:
    """Top-k (chunk id, BM25 score), best first; `max_day` (YYYYMMDD) drops chunks published later.

    Undated chunks (day 0) always pass the date filter: nothing says they are from the future.

    FTS5 scores every chunk holding any query word, so on a large archive a question with a common word
    ("year", "state") reads hundreds of thousands of postings, about a microsecond each. When the query's
    postings exceed `pruning.postings`, only its rarest words within that budget are matched (they carry
    most of BM25's weight), and the best `pruning.pool` chunks of that match are scored on every query
    word with FTS5's own formula: the candidate stage of max-score pruning (Turtle and Flood 1995). With
    `pruning.rounds` above 1 it goes on matching more words until a bound proves that no chunk outside
    the pool can reach the top k (a word adds at most idf x (k1 + 1) to a chunk's score), or the rounds
    run out. Under the budget, or on an index without term statistics, every chunk is scored, as before.
    """
    terms = list(dict.fromkeys(t for t in tokens if t))
    if not terms or k < 1:
        return []
    pruning = pruning or Pruning()
    stats = _stats(conn, terms)
    if stats is None or sum(stats[2].values()) <= pruning.postings:
        return _fts(conn, terms, k, max_day)
    chunks, avgdl, df = stats
    idf = {t: _idf(chunks, df[t]) for t in terms}
    by_rarity = sorted(terms, key=lambda t: (df[t], t))
    bound = [idf[t] * (K1 + 1) for t in by_rarity]  # the most a word can add to any chunk's score
    matched = _within_budget(by_rarity, df, pruning.postings)
    pool = max(pruning.pool, k)
    best: list[tuple[int, float]] = []
    known: dict[int, float] = {}
    for round_ in range(1, pruning.rounds + 1):
        hits = _fts_rowids(conn, by_rarity[:matched], pool, max_day)
        best = _rescore(conn, [rowid for rowid, _ in hits], terms, idf, avgdl, known)[:k]
        kth = best[k - 1][1] if len(best) >= k else 0.0
        # A chunk holding none of the matched words scores at most the sum of the others' bounds; one that
        # ranked below the pool's last on the matched words, at most that score plus the same sum.
        cut = hits[-1][1] if len(hits) == pool else 0.0
        tail = sum(bound[matched:])
        if tail + cut <= kth or matched == len(terms) or round_ == pruning.rounds:
            break  # exact when nothing outside the pool can reach the top k; else as good as the budget allows
        if tail <= kth:
            pool *= 4  # the matched words suffice; the pool was too shallow
        else:
            # Max-score's "essential" words: all but the commonest ones whose bounds add up to no more than
            # the k-th score; as many of them as the budget allows, and at least one more than before.
            needed = len(terms)
            while needed > 0 and sum(bound[needed - 1 :]) <= kth:
                needed -= 1
            widest = _within_budget(by_rarity, df, pruning.postings * 2**round_)
            matched = max(matched + 1, min(needed, widest))
    return _chunk_ids(conn, best)


def _stats(conn: sqlite3.Connection, terms: list[str]) -> tuple[int, float, dict[str, int]] | None:
    totals = conn.execute("SELECT chunks, tokens FROM lex_totals WHERE id = 1").fetchone()
    if totals is None or int(totals[0]) <= 0:
        return None
    rows = conn.execute(f"SELECT term, df FROM lex_terms WHERE term IN ({','.join('?' * len(terms))})", terms)
    df = dict.fromkeys(terms, 0) | {str(t): int(n) for t, n in rows}
    return int(totals[0]), int(totals[1]) / int(totals[0]), df


def _idf(chunks: int, df: int) -> float:
    # FTS5's own idf, with its floor for words in more than half of the chunks.
    value = math.log((chunks - df + 0.5) / (df + 0.5))
    return value if value > 0 else 1e-6


def _within_budget(by_rarity: list[str], df: dict[str, int], budget: int) -> int:
    """How many of the rarest words fit the postings budget (at least one)."""
    total, n = 0, 0
    for term in by_rarity:
        total += df[term]
        if total > budget and n:
            break
        n += 1
    return n


def _fts(conn: sqlite3.Connection, terms: list[str], k: int, max_day: int | None) -> list[tuple[str, float]]:
    """FTS5's own ranking over every chunk holding any of the terms."""
    sql = ("SELECT c.chunk_id, -bm25(chunk_fts) AS score FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid "
           "WHERE chunk_fts MATCH ?")
    params: list[object] = [match_expression(terms)]
    if max_day is not None:
        sql += " AND c.day <= ?"
        params.append(max_day)
    # bm25() is lower-is-better in FTS5 (negated BM25); flip it so callers see the usual "higher is better".
    sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
    params.append(k)
    return [(str(cid), float(score)) for cid, score in conn.execute(sql, params)]


def _fts_rowids(conn: sqlite3.Connection, terms: list[str], k: int, max_day: int | None) -> list[tuple[int, float]]:
    """(rowid, BM25 on `terms` alone) of the top k chunks, best first."""
    sql = "SELECT chunk_fts.rowid, -bm25(chunk_fts) FROM chunk_fts"
    params: list[object] = [match_expression(terms)]
    if max_day is not None:
        sql += " JOIN chunks c ON c.id = chunk_fts.rowid WHERE chunk_fts MATCH ? AND c.day <= ?"
        params.append(max_day)
    else:
        sql += " WHERE chunk_fts MATCH ?"
    sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
    params.append(k)
    return [(int(rowid), float(score)) for rowid, score in conn.execute(sql, params)]


def _rescore(conn: sqlite3.Connection, rowids: list[int], terms: list[str], idf: dict[str, float],
             avgdl: float, known: dict[int, float]) -> list[tuple[int, float]]:
    """BM25 of each chunk on every query term, as FTS5 computes it, best first (`known` caches scores
    across rounds)."""
    todo = [r for r in rowids if r not in known]
    for part in range(0, len(todo), 500):
        ids = todo[part : part + 500]
        rows = conn.execute(f"SELECT rowid, tokens FROM chunk_fts WHERE rowid IN ({','.join('?' * len(ids))})", ids)
        for rowid, text in rows:
            words = str(text).split()
            norm = K1 * (1 - B + B * len(words) / avgdl)
            score = 0.0
            for term in terms:
                tf = words.count(term)
                if tf:
                    score += idf[term] * tf * (K1 + 1) / (tf + norm)
            known[int(rowid)] = score
    return sorted(((r, known[r]) for r in rowids if r in known), key=lambda item: (-item[1], item[0]))


def _chunk_ids(conn: sqlite3.Connection, scored: list[tuple[int, float]]) -> list[tuple[str, float]]:
    if not scored:
        return []
    ids = {int(r): str(c) for r, c in conn.execute(
        f"SELECT id, chunk_id FROM chunks WHERE id IN ({','.join('?' * len(scored))})", [r for r, _ in scored])}
    return [(ids[rowid], score) for rowid, score in scored if rowid in ids]


def known_word(conn: sqlite3.Connection, word: str) -> bool:
    """True when some indexed chunk contains the folded `word`."""
    return conn.execute("SELECT 1 FROM spell_vocab WHERE term = ?", (word,)).fetchone() is not None


def words_like(conn: sqlite3.Connection, word: str, spread: int = 2) -> list[str]:
    """Indexed words with the same first letter and a length within `spread` of `word`'s.

    A range probe on the vocabulary, not a scan of the chunks: what it returns grows with the vocabulary
    under one initial (slowly, as vocabularies do), never with the number of chunks.
    """
    initial = word[0]
    upper = chr(ord(initial) + 1)
    rows = conn.execute("SELECT term FROM spell_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                        (initial, upper, len(word) - spread, len(word) + spread))
    return [str(term) for (term,) in rows]
