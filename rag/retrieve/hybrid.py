"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank fusion.

A per-article cap keeps one long article from filling the top-k, because a news answer is often
confirmed or contradicted by another outlet. The BM25 index is persisted beside the Chroma index with a
fingerprint of the collection, and rebuilt whenever the collection changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.errors import RagError
from rag.ingest.store import Store
from rag.models import Passage
from rag.retrieve.rerank import SentenceScorer
from rag.retrieve.timeframe import DAY_KEY, TimeFrame, eligible, time_fit
from rag.settings import Settings
from rag.text.lexicon import Lexicon
from rag.text.tokens import lexical_tokens


@dataclass
class LexicalIndex:
    """BM25 over the stored chunks, with the chunk ids its rows stand for."""

    bm25: bm25s.BM25
    ids: list[str]
    fingerprint: str

    def search(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first; empty when no query word is known."""
        known = [t for t in tokens if t in self.bm25.vocab_dict]
        if not known or not self.ids:
            return []
        docs, scores = self.bm25.retrieve([known], k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def fingerprint(nodes: list[TextNode], lexicon: Lexicon, with_title: bool = False) -> str:
    """Changes whenever a chunk is added, removed or re-embedded, or what BM25 reads of it changes (the
    lexicon's tokens, the title)."""
    digest = hashlib.sha256(lexicon.digest.encode() + (b"title\n" if with_title else b""))
    for node in sorted(nodes, key=lambda n: n.node_id):
        digest.update(f"{node.node_id}:{node.metadata.get('content_hash')}\n".encode())
    return digest.hexdigest()


def lexical_text(node: TextNode, with_title: bool) -> str:
    """What BM25 indexes for a chunk: its text, after its article's title when `with_title` (a chunk deep
    in an article rarely repeats the names its headline gives, and questions ask about the story)."""
    title = node.metadata.get("title") if with_title else None
    return f"{title}\n{node.get_content()}" if title else node.get_content()


def load_or_build_lexical(nodes: list[TextNode], lexicon: Lexicon, folder: Path,
                          with_title: bool = False) -> LexicalIndex:
    """Load the persisted BM25 index if it matches the collection, else build and persist it."""
    fp = fingerprint(nodes, lexicon, with_title)
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta["fingerprint"] == fp:
            return LexicalIndex(bm25s.BM25.load(str(folder), show_progress=False), meta["ids"], fp)
    except (OSError, ValueError, KeyError):
        pass  # missing or stale: rebuild below
    bm25 = bm25s.BM25()
    ids = [n.node_id for n in nodes]
    if nodes:
        bm25.index([lexical_tokens(lexical_text(n, with_title), lexicon) for n in nodes], show_progress=False)
        folder.mkdir(parents=True, exist_ok=True)
        bm25.save(str(folder), show_progress=False)
        # Written last, so an interrupted save leaves a stale fingerprint and the next run rebuilds.
        meta_path.write_text(json.dumps({"fingerprint": fp, "ids": ids}))
    return LexicalIndex(bm25, ids, fp)


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion (Cormack et al. 2009): sum of weight / (k + rank) over rankings."""
    fused: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, node_id in enumerate(ranking, start=1):
            fused[node_id] = fused.get(node_id, 0.0) + weight / (k + rank)
    return fused


def cap_per_doc(ranked: list[NodeWithScore], k: int, cap: int) -> list[NodeWithScore]:
    """Top-k with at most `cap` chunks per article, topped up from the rest when articles run out."""
    picked: list[NodeWithScore] = []
    counts: dict[str, int] = {}
    rest: list[NodeWithScore] = []
    for item in ranked:
        doc = str(item.node.metadata.get("doc_id"))
        if counts.get(doc, 0) < cap:
            picked.append(item)
            counts[doc] = counts.get(doc, 0) + 1
        else:
            rest.append(item)
    chosen = (picked + rest)[:k]
    order = {id(item): i for i, item in enumerate(ranked)}
    return sorted(chosen, key=lambda item: order[id(item)])


class HybridRetriever(BaseRetriever):
    """Dense + BM25 with RRF and a per-article cap, as a llama-index retriever."""

    def __init__(self, store: Store, embedder: BaseEmbedding, settings: Settings, lexicon: Lexicon,
                 lexical_dir: Path, scorer: SentenceScorer | None = None) -> None:
        super().__init__()
        self.scorer = scorer
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.lexicon = lexicon
        self.nodes = {n.node_id: n for n in store.all_nodes()}
        if any(DAY_KEY not in n.metadata for n in self.nodes.values()):
            # Chunks from before as_of existed cannot be filtered by date: say how to fix it.
            raise RagError(f"The index at {store.location} was built by an older version (its chunks have no "
                           "publication day). Re-ingest your articles: `rag ingest PATH` (or --rebuild).")
        self.lexical = load_or_build_lexical(list(self.nodes.values()), lexicon, lexical_dir,
                                             settings.title_in_lexical)
        self.top_k = settings.top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.search(query_bundle.query_str, self.top_k)

    def search(self, query: str, k: int, frame: TimeFrame | None = None) -> list[NodeWithScore]:
        """The fused top-k for a query; with a time frame, nothing published after its as_of date, and
        passages from the window its words point at ranked up."""
        s = self.settings
        as_of = frame.as_of if frame else None
        dense = self.store.query(self.embedder.get_query_embedding(self.lexicon.expand(query)), s.fetch_k,
                                 as_of=as_of)
        lexical = self._lexical(query, s.fetch_k, as_of)
        for node, _ in dense:
            self.nodes.setdefault(node.node_id, node)
        fused = rrf([([n.node_id for n, _ in dense], s.dense_weight),
                     ([i for i, _ in lexical], s.bm25_weight)], s.rrf_k)
        ranked = [NodeWithScore(node=self.nodes[i], score=score)
                  for i, score in sorted(fused.items(), key=lambda kv: -kv[1]) if i in self.nodes]
        if self.scorer is not None and s.rerank:
            ranked = self._rerank(query, ranked[: s.fetch_k])
        if frame is not None and frame.time_bound and s.time_weight:
            ranked = favour_window(ranked, frame, s.time_weight)
        return cap_per_doc(ranked, k, s.per_doc_cap)

    def _lexical(self, query: str, k: int, as_of: date | None) -> list[tuple[str, float]]:
        """BM25's top k among the chunks eligible on as_of (it has no filter: ask for more, then drop)."""
        tokens = lexical_tokens(query, self.lexicon)
        if as_of is None:
            return self.lexical.search(tokens, k)
        hits = self.lexical.search(tokens, k * 5)
        kept = [(i, score) for i, score in hits if i in self.nodes and eligible(self.nodes[i].metadata, as_of)]
        if len(kept) < k and len(hits) == k * 5:
            hits = self.lexical.search(tokens, len(self.lexical.ids))
            kept = [(i, sc) for i, sc in hits if i in self.nodes and eligible(self.nodes[i].metadata, as_of)]
        return kept[:k]

    def _rerank(self, query: str, ranked: list[NodeWithScore]) -> list[NodeWithScore]:
        """Order passages by their best sentence's score: the fused rank says "on topic", the sentence
        scorer says "answers this kind of question" (a date for "when", a number for "how many")."""
        assert self.scorer is not None
        passages = [Passage(node=r.node, score=float(r.score or 0.0), number=i)  # type: ignore[arg-type]
                    for i, r in enumerate(ranked, start=1)]
        best: dict[str, float] = {}
        for cand in self.scorer.rank(query, passages):
            best.setdefault(cand.passage.node.node_id, cand.score)
        rescored = [NodeWithScore(node=r.node, score=best.get(r.node.node_id, -1.0)) for r in ranked]
        return sorted(rescored, key=lambda r: -float(r.score or 0.0))


def favour_window(ranked: list[NodeWithScore], frame: TimeFrame, weight: float) -> list[NodeWithScore]:
    """Re-sort by relevance (scaled to 0..1 over these candidates, so it works on fused or reranked
    scores alike) plus `weight` x how well the passage's date fits the question's window."""
    if not ranked:
        return ranked
    scores = [float(r.score or 0.0) for r in ranked]
    low, high = min(scores), max(scores)
    span = (high - low) or 1.0
    rescored = [NodeWithScore(node=r.node, score=(sc - low) / span + weight * time_fit(r.node.metadata, frame))
                for r, sc in zip(ranked, scores, strict=True)]
    return sorted(rescored, key=lambda r: -float(r.score or 0.0))


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors."""
    va, vb = np.asarray(a), np.asarray(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-12))
