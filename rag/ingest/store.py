"""The index: vectors in a Chroma collection (embedded `PersistentClient` or remote `HttpClient`), and the
chunk catalogue with its lexical index in one SQLite file beside it (`rag.ingest.catalog`).

Chroma stores only vectors, keyed by chunk id (a hash of the chunk text). Texts, spans, article metadata,
story groups and the ingest manifest are in the catalogue, which a question reads by id: nothing is ever
loaded whole. Where the catalogue lives (`catalog_path`):

- embedded Chroma: ``<RAG_DATA_DIR>/index/<collection>.catalog.sqlite``, inside the Chroma folder;
- ``RAG_CHROMA_URL``: ``<RAG_DATA_DIR>/remote/<host>-<port>-<collection>.catalog.sqlite``, one file per
  server and collection. Every app process that serves that collection must use the same RAG_DATA_DIR
  (one machine, or a local disk they share: SQLite's locking is not safe on NFS). They then read one
  file in WAL mode and see each article appear whole, when its ingest transaction commits; a process
  never keeps a private copy that could drift. A vector whose chunk the catalogue does not know (an
  ingest from elsewhere, or one killed between the two writes) is ignored by retrieval.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError

from rag.errors import RagError
from rag.ingest.catalog import ArticleRecord, Catalog
from rag.models import Chunk
from rag.retrieve import lexical
from rag.settings import Settings
from rag.text.lexicon import corpus_lexicon

EMBED_KEY = "embed_model"
LAYOUT_KEY = "layout"
LAYOUT = "vectors-by-text-hash-1"  # Chroma holds vectors only; the catalogue holds the rest
_WRITE_BATCH = 1000  # ids per Chroma call, well under its max batch size
# Chroma writes its HNSW graph to disk every `sync_threshold` added vectors; a new process replays the rest
# from its log into the graph before the first query. Its default (1000) leaves up to 999 to replay on
# every cold start after an ingest (1.2 s at 127k chunks, 0.37 s for 304 at 30k); 256 caps that at about
# a quarter, for 13% more time in Chroma's add (30k vectors: 41.6 -> 46.9 s; embedding them takes ~25 min).
HNSW_SYNC_THRESHOLD = 256
SentenceVectors = tuple[list[tuple[int, int]], np.ndarray]  # a chunk's sentence spans and their vectors
T = TypeVar("T")


def _reachable(method: Callable[..., T]) -> Callable[..., T]:
    """Turn a store that stopped answering (Chroma server down, disk error) into a `RagError` that says
    what to do, for every caller alike: Python API, CLI and UI."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (httpx.TransportError, OSError, ChromaError) as exc:
            raise RagError(self.unreachable(exc)) from exc

    return wrapper


class Store:
    """The vectors (Chroma) and the chunk catalogue (SQLite) of one collection."""

    def __init__(self, client: Any, collection: Any, location: str, catalog: Catalog) -> None:
        self.client = client
        self.collection = collection
        self.location = location
        self.catalog = catalog
        self.remote = location.startswith(("http://", "https://"))

    def unreachable(self, exc: BaseException) -> str:
        """What to tell the user when the store fails mid-way."""
        if self.remote:
            return (f"Lost the Chroma server at {self.location} ({type(exc).__name__}: {exc}). Start it again "
                    "with `chroma run --path DIR`, or unset RAG_CHROMA_URL to use the local index; then retry.")
        return (f"The Chroma index at {self.location} failed ({type(exc).__name__}: {exc}). Check the disk "
                "and permissions, or rebuild it with `rag ingest PATH --rebuild`.")

    @_reachable
    def count(self) -> int:
        """Number of distinct chunks stored."""
        return self.catalog.chunk_count()

    @_reachable
    def is_empty(self) -> bool:
        """True when nothing is indexed yet."""
        return self.catalog.is_empty()

    @_reachable
    def prepare_for_writes(self) -> None:
        """Before an ingest: an index created with Chroma's default HNSW sync threshold gets ours (see
        HNSW_SYNC_THRESHOLD), so that what this run adds leaves little for later starts to replay."""
        hnsw = (self.collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("sync_threshold", HNSW_SYNC_THRESHOLD) > HNSW_SYNC_THRESHOLD:
            # Only start-up time depends on it: a server that refuses the change (another Chroma version)
            # must not stop the ingest. An unreachable one still fails, as every other call would.
            with contextlib.suppress(ChromaError, ValueError, TypeError):
                self.collection.modify(configuration={"hnsw": {"sync_threshold": HNSW_SYNC_THRESHOLD}})

    @_reachable
    def doc_states(self, origin: str) -> dict[str, str]:
        """doc_id -> identity (what its chunks were made from) of the complete articles from folder `origin`."""
        return self.catalog.doc_states(origin)

    @_reachable
    def unembedded(self, chunk_ids: list[str], *, sentences: bool = False) -> list[str]:
        """Those of `chunk_ids` with no stored vector yet (in order, without repeats); with `sentences`,
        also those whose sentence vectors are missing (an index built before they were kept).

        Chroma is asked too, so that vectors written by a run killed before its catalogue commit are
        reused rather than computed again.
        """
        if sentences:  # written after the chunk's vector: a chunk with them has both
            have_all = self.catalog.with_sentences(chunk_ids)
            return [c for c in dict.fromkeys(chunk_ids) if c not in have_all]
        wanted = [c for c in dict.fromkeys(chunk_ids) if c not in self.catalog.existing(chunk_ids)]
        if not wanted:
            return []
        have = set(self.collection.get(ids=wanted, include=[])["ids"])
        return [c for c in wanted if c not in have]

    @_reachable
    def add_vectors(self, chunk_ids: list[str], vectors: list[list[float]],
                    sentences: list[SentenceVectors] | None = None) -> None:
        """Store vectors (upsert: a vector is a function of its chunk text, so writing it twice is harmless),
        then the chunks' sentence spans and vectors when given."""
        for i in range(0, len(chunk_ids), _WRITE_BATCH):
            self.collection.upsert(ids=chunk_ids[i : i + _WRITE_BATCH], embeddings=vectors[i : i + _WRITE_BATCH])
        if sentences is not None:
            self.catalog.put_sentence_vectors([(c, spans, vecs) for c, (spans, vecs)
                                               in zip(chunk_ids, sentences, strict=True)])

    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, dict[tuple[int, int], np.ndarray]]:
        """The stored sentence vectors of these chunks (see `SentenceScorer`)."""
        return self.catalog.sentence_vectors(chunk_ids)

    @_reachable
    def put_article(self, record: ArticleRecord) -> int:
        """Record an article whose chunks' vectors are stored; returns its story group.

        The catalogue swaps the old version for the new one in one transaction, then the vectors no
        article needs any more are deleted. Killed in between, they are only unused (and ignored).
        """
        group, freed = self.catalog.put_article(record)
        self._delete_vectors(freed)
        return group

    @_reachable
    def delete_doc(self, origin: str, doc_id: str) -> None:
        """Remove an article (and the chunks only it contained)."""
        self._delete_vectors(self.catalog.drop_article(origin, doc_id))

    def _delete_vectors(self, chunk_ids: list[str]) -> None:
        for i in range(0, len(chunk_ids), _WRITE_BATCH):
            self.collection.delete(ids=chunk_ids[i : i + _WRITE_BATCH])

    @_reachable
    def dense(self, embedding: list[float], k: int) -> list[str]:
        """Chunk ids of the k nearest vectors, nearest first (fewer when the collection holds fewer)."""
        # No count() first: Chroma returns what it has, and counting costs a scan that grows with the
        # collection (26 ms a question at 127k chunks).
        got = self.collection.query(query_embeddings=[embedding], n_results=max(1, k), include=["distances"])
        return [str(i) for i in got["ids"][0]]

    @_reachable
    def lexical(self, tokens: list[str], k: int, max_day: int | None = None,
                pruning: lexical.Pruning | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score) for lexical tokens; `max_day` (YYYYMMDD) drops later articles."""
        return lexical.search(self.catalog.conn, tokens, k, max_day, pruning)

    def newest_day(self) -> int:
        """The latest publication day (YYYYMMDD) in the index, 0 when nothing is dated."""
        return self.catalog.newest_day()

    @_reachable
    def nodes(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Chunks of the given chunk ids (ids the catalogue does not know are left out)."""
        return self.catalog.nodes(chunk_ids)

    @_reachable
    def all_nodes(self) -> list[Chunk]:
        """Every stored chunk: for the eval and benchmarks that need the whole list, never for answering."""
        ids = [str(r[0]) for r in self.catalog.conn.execute("SELECT chunk_id FROM chunks ORDER BY id")]
        return list(self.nodes(ids).values())


def open_store(settings: Settings, embed_name: str, *, rebuild: bool = False) -> Store:
    """Open (or create) the collection and its catalogue; refuse to mix vectors of different models."""
    client, location = _client(settings)
    try:
        if rebuild:
            _drop(client, settings.collection)
        collection = client.get_or_create_collection(
            settings.collection, metadata={EMBED_KEY: embed_name, LAYOUT_KEY: LAYOUT, "hnsw:space": "cosine",
                                           "hnsw:sync_threshold": HNSW_SYNC_THRESHOLD})
    except RagError:
        raise
    except Exception as exc:  # chromadb raises many types for an unreachable or broken store
        raise RagError(f"Could not open the Chroma index at {location}: {exc}. "
                       "Check the path or server, or rebuild with `rag ingest --rebuild`.") from exc
    stored = (collection.metadata or {}).get(EMBED_KEY)
    if stored != embed_name:
        raise RagError(f"The index at {location} was built with the embedding model {stored!r}, but the "
                       f"settings ask for {embed_name!r}. Rebuild it with `rag ingest PATH --rebuild` "
                       "(or set RAG_EMBED back).")
    if (collection.metadata or {}).get(LAYOUT_KEY) != LAYOUT:
        raise RagError(f"The index at {location} was built by an older version of rag-news. Rebuild it with "
                       "`rag ingest PATH --rebuild`.")
    catalog = Catalog(catalog_path(settings), corpus_lexicon(settings.lexicon_path, settings.lexicon_file))
    if rebuild:
        catalog.clear()
    return Store(client, collection, location, catalog)


def catalog_path(settings: Settings) -> Path:
    """Where the catalogue of a collection lives (see the module docstring)."""
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        server = f"{url.hostname}-{url.port or 8000}".replace(":", "_")
        return settings.data_dir / "remote" / f"{server}-{settings.collection}.catalog.sqlite"
    return settings.index_dir / f"{settings.collection}.catalog.sqlite"


def _drop(client: Any, name: str) -> None:
    # A collection that doesn't exist yet is fine to "drop".
    with contextlib.suppress(Exception):
        client.delete_collection(name)


def _client(settings: Settings) -> tuple[Any, str]:
    # Telemetry stays off: the assistant must not talk to the network on its own.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise RagError(f"RAG_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000.")
        try:
            client = chromadb.HttpClient(host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https",
                                         settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise RagError(f"Could not reach the Chroma server at {settings.chroma_url} ({exc}). Start it "
                           "with `chroma run` or unset RAG_CHROMA_URL to use the local index.") from exc
        return client, settings.chroma_url
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings), str(settings.index_dir)
