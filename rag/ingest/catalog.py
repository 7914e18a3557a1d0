"""The chunk catalogue: one SQLite file that records articles, their chunks and the lexical index.

Chroma holds only vectors, keyed by chunk id (a hash of the chunk's text, so identical text is stored and
embedded once). Everything else lives here, and each article is written in one transaction:

- ``articles``: one row per ingested article (origin folder, doc_id, what its chunks were made from,
  metadata, published day, syndication group, MinHash signature). A row exists only once all of the
  article's chunks are recorded, so it is the ingest manifest: a run killed half-way leaves no row, and
  the next run does that article again.
- ``chunks``: one row per distinct chunk text, with the article ("owner") whose span it shows.
- ``refs``: every (article, position) that contains a chunk text, with its span in that article. When the
  owner leaves, the next article containing the text takes over, so every citation points to a real
  article and span; when the last one leaves, the chunk (and its vector) goes.
- the FTS5 tables of `rag.retrieve.lexical`, updated in the same transactions.

Readers use their own connection per thread; the file is in WAL mode, so a reader always sees the last
committed article and never a half-written one, whichever process wrote it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.models import Chunk
from rag.retrieve import lexical
from rag.text.lexicon import Lexicon

SCHEMA_VERSION = "1"
ALSO_PUBLISHED_SHOWN = 10  # a story syndicated to dozens of sites lists this many of them

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a syndication group may be named after it
    origin TEXT NOT NULL, doc_id TEXT NOT NULL, identity TEXT NOT NULL, meta TEXT NOT NULL,
    day INTEGER NOT NULL, grp INTEGER, signature BLOB, UNIQUE (origin, doc_id));
CREATE INDEX IF NOT EXISTS articles_grp ON articles(grp);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL,
    owner INTEGER NOT NULL, owner_pos INTEGER NOT NULL, doc_id TEXT NOT NULL, day INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_day ON chunks(day);
CREATE TABLE IF NOT EXISTS refs (
    article INTEGER NOT NULL, position INTEGER NOT NULL, chunk INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, dates TEXT, PRIMARY KEY (article, position));
CREATE INDEX IF NOT EXISTS refs_chunk ON refs(chunk);
CREATE TABLE IF NOT EXISTS sentences (chunk_id TEXT PRIMARY KEY, spans BLOB NOT NULL, vectors BLOB NOT NULL);
"""


@dataclass
class ChunkRecord:
    """One chunk of an article, as written: its text hash, text and span in the article."""

    chunk_id: str
    text: str
    position: int
    start: int
    end: int
    dates: str | None = None


@dataclass
class ArticleRecord:
    """One article ready to be recorded (its new chunks' vectors already in Chroma)."""

    origin: str
    doc_id: str
    identity: str  # content hash + chunking settings + pipeline version
    meta: dict[str, Any]
    day: int  # published as YYYYMMDD, 0 when undated
    chunks: list[ChunkRecord] = field(default_factory=list)
    group: int | None = None  # syndication group of an earlier article, None for a story of its own
    signature: bytes | None = None


class Catalog:
    """The SQLite file beside the vectors. Safe to share between threads and processes."""

    def __init__(self, path: Path, lexicon: Lexicon) -> None:
        self.path = path
        self.lexicon = lexicon
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        # executescript commits on its own; every statement is idempotent, so concurrent openers agree.
        self.conn.executescript(SCHEMA + lexical.SCHEMA
                                + f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');")
        if not lexical.has_stats(self.conn):
            # An index written before the lexical side kept term statistics: computed once, from FTS5's
            # own vocabulary, and kept in step by every later write.
            with self.write() as conn:
                if not lexical.has_stats(conn):
                    lexical.rebuild_stats(conn)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not cross threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
            except sqlite3.Error as exc:
                raise RagError(f"Could not open the lexical index {self.path}: {exc}. Check the path's "
                               "permissions, or rebuild with `rag ingest PATH --rebuild`.") from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (IMMEDIATE: a second writer waits instead of failing half-way)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- reading ----------------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when no chunk is recorded."""
        return self.conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def newest_day(self) -> int:
        """The latest publication day (YYYYMMDD) of any chunk, 0 when none is dated (an index probe)."""
        return int(self.conn.execute("SELECT coalesce(max(day), 0) FROM chunks").fetchone()[0])

    def chunk_count(self) -> int:
        """Distinct chunk texts stored (a count over the table: for reports and tests, not per question)."""
        return int(self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def doc_states(self, origin: str) -> dict[str, str]:
        """doc_id -> identity of every fully recorded article from folder `origin`."""
        rows = self.conn.execute("SELECT doc_id, identity FROM articles WHERE origin = ?", (origin,))
        return {str(d): str(i) for d, i in rows}

    def existing(self, chunk_ids: list[str]) -> set[str]:
        """Those of `chunk_ids` already stored (their vectors need not be computed again)."""
        return self._listed("chunks", chunk_ids)

    def with_sentences(self, chunk_ids: list[str]) -> set[str]:
        """Those of `chunk_ids` whose sentence vectors are stored."""
        return self._listed("sentences", chunk_ids)

    def _listed(self, table: str, chunk_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for part in _parts(chunk_ids):
            rows = self.conn.execute(f"SELECT chunk_id FROM {table} WHERE chunk_id IN ({_marks(part)})", part)
            found.update(str(r[0]) for r in rows)
        return found

    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, dict[tuple[int, int], np.ndarray]]:
        """chunk id -> {(start, end) of a sentence in the chunk text: its unit vector}, for those stored."""
        out: dict[str, dict[tuple[int, int], np.ndarray]] = {}
        for part in _parts(chunk_ids):
            for cid, spans, vectors in self.conn.execute(
                    f"SELECT chunk_id, spans, vectors FROM sentences WHERE chunk_id IN ({_marks(part)})", part):
                pairs = np.frombuffer(spans, dtype=np.int32).reshape(-1, 2)
                if not len(pairs):  # every sentence was cut off by truncation: the answerer embeds them
                    out[str(cid)] = {}
                    continue
                vecs = np.frombuffer(vectors, dtype=np.int8).reshape(len(pairs), -1).astype(np.float32)
                vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
                out[str(cid)] = {(int(a), int(b)): v for (a, b), v in zip(pairs, vecs, strict=True)}
        return out

    def signatures(self) -> Iterator[tuple[str, int, bytes]]:
        """(article key, group, MinHash signature) of every article: read once per ingest run that embeds
        something (to find syndicated copies), never per process start or per question."""
        rows = self.conn.execute("SELECT origin, doc_id, grp, signature FROM articles WHERE signature IS NOT NULL")
        for origin, doc_id, grp, sig in rows:
            yield article_key(origin, doc_id), int(grp), bytes(sig)

    def nodes(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """The chunks of the given chunk ids (unknown ids are left out), as their owner shows them."""
        found: dict[str, Chunk] = {}
        rows: list[tuple[Any, ...]] = []
        for part in _parts(chunk_ids):
            rows += self.conn.execute(
                "SELECT c.chunk_id, c.text, r.position, r.start, r.\"end\", r.dates, a.id, a.meta, "
                "a.grp FROM chunks c JOIN refs r ON r.chunk = c.id AND r.article = c.owner "
                "AND r.position = c.owner_pos JOIN articles a ON a.id = c.owner "
                f"WHERE c.chunk_id IN ({_marks(part)})", part).fetchall()
        also = self._also_published({(int(r[8]), int(r[6])) for r in rows})
        for cid, text, position, start, end, dates, aid, meta, grp in rows:
            found[str(cid)] = _node(str(cid), str(text), json.loads(meta), int(position), int(start), int(end),
                                    dates, int(grp), also.get((int(grp), int(aid)), []))
        return found

    def _also_published(self, owners: set[tuple[int, int]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
        """(group, owner article) -> the group's other articles, as short source records."""
        groups = sorted({g for g, _ in owners})
        members: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for part in _parts(groups):
            rows = self.conn.execute(f"SELECT grp, id, meta FROM articles WHERE grp IN ({_marks(part)}) ORDER BY id",
                                     part)
            for grp, aid, meta in rows:
                members.setdefault(int(grp), []).append((int(aid), json.loads(meta)))
        result = {}
        for grp, owner in owners:
            others = [m for aid, m in members.get(grp, []) if aid != owner]
            result[(grp, owner)] = [_source_record(m) for m in others[:ALSO_PUBLISHED_SHOWN]]
        return result

    # --- writing ----------------------------------------------------------------------------------------

    def put_article(self, record: ArticleRecord) -> tuple[int, list[str]]:
        """Record an article (replacing an earlier version of it) in one transaction.

        Returns the article's group (its syndication story) and the chunk ids no article refers to any
        more: their vectors can be deleted.
        """
        with self.write() as conn:
            old_chunks = self._forget(conn, record.origin, record.doc_id)
            cur = conn.execute("INSERT INTO articles (origin, doc_id, identity, meta, day, grp, signature) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (record.origin, record.doc_id, record.identity, json.dumps(record.meta),
                                record.day, record.group, record.signature))
            aid = int(cur.lastrowid or 0)
            if record.group is None:
                conn.execute("UPDATE articles SET grp = id WHERE id = ?", (aid,))
            for chunk in record.chunks:
                rowid = self._chunk_rowid(conn, chunk, aid, record)
                conn.execute("INSERT INTO refs VALUES (?, ?, ?, ?, ?, ?)",
                             (aid, chunk.position, rowid, chunk.start, chunk.end, chunk.dates))
            return record.group if record.group is not None else aid, self._settle(conn, old_chunks)

    def put_sentence_vectors(self, rows: list[tuple[str, list[tuple[int, int]], np.ndarray]]) -> None:
        """Store each chunk's sentence spans and vectors (int8: only their direction is ever used)."""
        encoded = [(cid, np.asarray(spans, dtype=np.int32).tobytes(), _int8(vectors)) for cid, spans, vectors in rows]
        with self.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO sentences VALUES (?, ?, ?)", encoded)

    def drop_article(self, origin: str, doc_id: str) -> list[str]:
        """Forget an article; returns the chunk ids no article refers to any more."""
        with self.write() as conn:
            return self._settle(conn, self._forget(conn, origin, doc_id))

    def clear(self) -> None:
        """Forget everything (for `--rebuild`)."""
        with self.write() as conn:
            for table in ("articles", "chunks", "refs", "sentences"):
                conn.execute(f"DELETE FROM {table}")
            lexical.clear(conn)

    def _chunk_rowid(self, conn: sqlite3.Connection, chunk: ChunkRecord, aid: int, record: ArticleRecord) -> int:
        row = conn.execute("SELECT id FROM chunks WHERE chunk_id = ?", (chunk.chunk_id,)).fetchone()
        if row is not None:  # the same text is already stored: this article only refers to it
            return int(row[0])
        cur = conn.execute("INSERT INTO chunks (chunk_id, text, owner, owner_pos, doc_id, day) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (chunk.chunk_id, chunk.text, aid, chunk.position, record.doc_id, record.day))
        rowid = int(cur.lastrowid or 0)
        # The lexical side reads each chunk after its article's title: a chunk deep in an article rarely
        # repeats the names its headline gives (seed gold accuracy 0.90 -> 0.92; RealTimeQA dev answer
        # recall@10 with as_of 0.885 -> 0.899).
        title = record.meta.get("title")
        lexical.index_chunk(conn, rowid, f"{title}\n{chunk.text}" if title else chunk.text, self.lexicon)
        return rowid

    @staticmethod
    def _forget(conn: sqlite3.Connection, origin: str, doc_id: str) -> list[int]:
        """Delete an article row and its refs; returns the chunk rowids it referred to."""
        row = conn.execute("SELECT id FROM articles WHERE origin = ? AND doc_id = ?", (origin, doc_id)).fetchone()
        if row is None:
            return []
        aid = int(row[0])
        chunks = [int(r[0]) for r in conn.execute("SELECT DISTINCT chunk FROM refs WHERE article = ?", (aid,))]
        conn.execute("DELETE FROM refs WHERE article = ?", (aid,))
        conn.execute("DELETE FROM articles WHERE id = ?", (aid,))
        return chunks

    @staticmethod
    def _settle(conn: sqlite3.Connection, rowids: list[int]) -> list[str]:
        """Give orphaned chunks a new owner, or delete them when no article refers to them."""
        freed: list[tuple[int, str]] = []
        for rowid in rowids:
            chunk_id, owner = conn.execute("SELECT chunk_id, owner FROM chunks WHERE id = ?", (rowid,)).fetchone()
            heir = conn.execute("SELECT r.article, r.position, a.doc_id, a.day FROM refs r JOIN articles a "
                                "ON a.id = r.article WHERE r.chunk = ? ORDER BY r.article, r.position LIMIT 1",
                                (rowid,)).fetchone()
            if heir is None:
                freed.append((rowid, str(chunk_id)))
            elif conn.execute("SELECT 1 FROM articles WHERE id = ?", (owner,)).fetchone() is None:
                conn.execute("UPDATE chunks SET owner = ?, owner_pos = ?, doc_id = ?, day = ? WHERE id = ?",
                             (*heir, rowid))
        conn.executemany("DELETE FROM chunks WHERE id = ?", [(r,) for r, _ in freed])
        conn.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(c,) for _, c in freed])
        lexical.unindex_chunks(conn, [r for r, _ in freed])
        return [c for _, c in freed]


def _node(chunk_id: str, text: str, meta: dict[str, Any], position: int, start: int, end: int, dates: str | None,
          group: int, also: list[dict[str, Any]]) -> Chunk:
    metadata = meta | {"chunk": position, "source_key": f"story:{group}"}
    if dates:
        metadata["dates"] = dates
    if also:
        metadata["also_published"] = also
    return Chunk(node_id=chunk_id, text=text, start_char_idx=start, end_char_idx=end, metadata=metadata)


def _int8(vectors: np.ndarray) -> bytes:
    # Each row scaled to its largest component: 1 byte per dimension, cosine error around 0.001.
    if not len(vectors):
        return b""
    v = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scale = np.clip(np.abs(v).max(axis=1, keepdims=True), 1e-12, None)
    return np.round(v / scale * 127).astype(np.int8).tobytes()


def article_key(origin: str, doc_id: str) -> str:
    """One string naming an article across folders."""
    return f"{origin}\x00{doc_id}"


def _source_record(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: meta.get(key) for key in ("doc_id", "outlet", "url", "title", "published")}


def _parts(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    # SQLite caps the number of parameters of one statement; a few hundred ids per query stay well below.
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(items: list[Any]) -> str:
    return ",".join("?" * len(items))
