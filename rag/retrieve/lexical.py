"""The lexical side of retrieval: SQLite FTS5 tables on disk, ranked by FTS5's own `bm25()`.

Nothing is loaded into memory: a search is one SQL query, and ingest adds or removes rows in the same
transaction that records the article (rag/ingest/catalog.py), so the index is always in step with the
chunk catalogue. Two tables, both keyed by the chunk's rowid in ``chunks``:

- ``chunk_fts(tokens)``: the chunk's `lexical_tokens` (folded, alias-normalised, stemmed), joined by
  spaces. Indexing pre-tokenised text keeps the query and the document sides normalised by the same Python
  function; FTS5's tokenizer only splits on the spaces.
- ``spell_fts(words)``: the chunk's folded surface words, for the spelling vocabulary. ``spell_vocab``
  (an ``fts5vocab`` table) lists them, so a lookup is an index probe, not a scan of every chunk.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

from rag.text.lexicon import Lexicon, fold
from rag.text.tokens import lexical_tokens

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(tokens, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS spell_fts USING fts5(words, detail=none, columnsize=0,
    tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS spell_vocab USING fts5vocab(spell_fts, row);
"""

_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def surface_words(text: str) -> list[str]:
    """Folded words of `text` as the spelling corrector knows them (letters only, two or more)."""
    words = (fold(w).strip("'") for w in _WORD.findall(text))
    return [w for w in words if len(w) > 1]


def index_chunk(conn: sqlite3.Connection, rowid: int, text: str, lexicon: Lexicon) -> None:
    """Add one chunk's rows (call inside the ingest transaction)."""
    conn.execute("INSERT INTO chunk_fts(rowid, tokens) VALUES (?, ?)",
                 (rowid, " ".join(lexical_tokens(text, lexicon))))
    conn.execute("INSERT INTO spell_fts(rowid, words) VALUES (?, ?)", (rowid, " ".join(surface_words(text))))


def unindex_chunks(conn: sqlite3.Connection, rowids: Iterable[int]) -> None:
    """Remove chunks' rows (call inside the ingest transaction)."""
    rows = [(r,) for r in rowids]
    conn.executemany("DELETE FROM chunk_fts WHERE rowid = ?", rows)
    conn.executemany("DELETE FROM spell_fts WHERE rowid = ?", rows)


def match_expression(tokens: list[str]) -> str | None:
    """An FTS5 query matching any of the tokens (each quoted, so no token is read as an operator)."""
    unique = list(dict.fromkeys(t for t in tokens if t))
    return " OR ".join(f'"{t}"' for t in unique) if unique else None


def search(conn: sqlite3.Connection, tokens: list[str], k: int, max_day: int | None = None) -> list[tuple[str, float]]:
    """Top-k (chunk id, BM25 score), best first; `max_day` (YYYYMMDD) drops chunks published later.

    Undated chunks (day 0) always pass the date filter: nothing says they are from the future.
    """
    query = match_expression(tokens)
    if query is None or k < 1:
        return []
    # bm25() is lower-is-better in FTS5 (negated BM25); flip it so callers see the usual "higher is better".
    sql = ("SELECT c.chunk_id, -bm25(chunk_fts) AS score FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.rowid "
           "WHERE chunk_fts MATCH ?")
    params: list[object] = [query]
    if max_day is not None:
        sql += " AND c.day <= ?"
        params.append(max_day)
    sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
    params.append(k)
    return [(str(cid), float(score)) for cid, score in conn.execute(sql, params)]


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
