"""The Chroma collection behind the index, embedded (`PersistentClient`) or remote (`HttpClient`).

Chunks go in and come out as llama-index `TextNode`s through `ChromaVectorStore`. Each chunk carries its
article's `doc_id`, `content_hash` and `n_chunks`, which is all incremental ingestion needs: the
collection itself is the manifest, so there is no second file to drift out of step with it.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.errors import RagError
from rag.retrieve.timeframe import chroma_filter
from rag.settings import Settings

EMBED_KEY = "embed_model"


@dataclass
class DocState:
    """What the collection holds for one article."""

    content_hash: str
    chunks: int
    complete: bool  # every chunk the article was split into is present


class Store:
    """One Chroma collection of article chunks, tagged with the embedding model that made its vectors."""

    def __init__(self, client: Any, collection: Any, location: str) -> None:
        self.client = client
        self.collection = collection
        self.location = location
        self.vector_store = ChromaVectorStore(chroma_collection=collection)

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self.collection.count())

    def doc_states(self, origin: str) -> dict[str, DocState]:
        """doc_id -> what is stored for it, for the articles ingested from folder `origin`."""
        got = self.collection.get(where={"origin": origin}, include=["metadatas"])
        seen: dict[str, list[dict[str, Any]]] = {}
        for meta in got["metadatas"] or []:
            seen.setdefault(str(meta.get("doc_id")), []).append(meta)
        states = {}
        for doc_id, metas in seen.items():
            hashes = {m.get("content_hash") for m in metas}
            expected = int(metas[0].get("n_chunks", -1))
            states[doc_id] = DocState(str(metas[0].get("content_hash")), len(metas),
                                      len(hashes) == 1 and expected == len(metas))
        return states

    def replace_doc(self, origin: str, doc_id: str, nodes: list[TextNode]) -> None:
        """Swap an article's chunks for new ones (nodes must carry embeddings).

        Delete-then-add: if a run dies in between, the article is simply missing (or incomplete) and the
        next ingest sees that and embeds it again, so the index never serves a mix of old and new chunks.
        """
        for i, node in enumerate(nodes):
            # llama-index writes the node's ref_doc_id into the "doc_id" metadata key: keep them equal.
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
            node.metadata.update(origin=origin, n_chunks=len(nodes))
            node.id_ = f"{_short_hash(origin)}:{doc_id}::{i}"
        self.delete_doc(origin, doc_id)
        if nodes:
            self.vector_store.add(nodes)

    def delete_doc(self, origin: str, doc_id: str) -> None:
        """Remove every chunk of an article."""
        self.collection.delete(where={"$and": [{"origin": origin}, {"doc_id": doc_id}]})

    def all_nodes(self) -> list[TextNode]:
        """Every stored chunk as a TextNode (for the BM25 side and the eval)."""
        got = self.collection.get(include=["metadatas", "documents"])
        return [_to_node(meta, doc) for meta, doc in zip(got["metadatas"] or [], got["documents"] or [],
                                                         strict=True)]

    def query(self, embedding: list[float], k: int, as_of: date | None = None) -> list[tuple[TextNode, float]]:
        """The k nearest chunks with their similarity (1 - cosine distance); with `as_of`, only chunks
        of articles published on or before that day (or undated)."""
        if self.count() == 0:
            return []
        where = {"where": chroma_filter(as_of)} if as_of else {}
        result = self.vector_store.query(VectorStoreQuery(query_embedding=embedding,
                                                          similarity_top_k=min(k, self.count())), **where)
        nodes = [n for n in result.nodes or [] if isinstance(n, TextNode)]
        return list(zip(nodes, result.similarities or [0.0] * len(nodes), strict=False))


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _to_node(meta: dict[str, Any], text: str) -> TextNode:
    node = metadata_dict_to_node(meta, text=text)
    assert isinstance(node, TextNode)
    return node


def open_store(settings: Settings, embed_name: str, *, rebuild: bool = False) -> Store:
    """Open (or create) the collection; refuse to mix vectors of different embedding models."""
    client, location = _client(settings)
    try:
        if rebuild:
            _drop(client, settings.collection)
        collection = client.get_or_create_collection(
            settings.collection, metadata={EMBED_KEY: embed_name, "hnsw:space": "cosine"})
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
    return Store(client, collection, location)


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
