"""Hybrid retrieval: dense (Chroma) and lexical (SQLite FTS5 BM25) rankings fused by reciprocal rank fusion.

Both sides are queries against stores on disk, and only the fused candidates' nodes are read from the
catalogue, so a question costs the same on five articles as on a news archive. A per-story cap keeps one
long article (or one story syndicated to many sites) from filling the top-k, because a news answer is
often confirmed or contradicted by another outlet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rag.ingest.embed import Embedder
from rag.ingest.store import Store
from rag.models import Passage, ScoredChunk, day_number
from rag.retrieve.lexical import Pruning
from rag.retrieve.rerank import SentenceScorer
from rag.retrieve.timeframe import TimeFrame, eligible, time_fit
from rag.settings import Settings
from rag.text.lexicon import Lexicon
from rag.text.tokens import lexical_tokens

if TYPE_CHECKING:
    from llama_index.core.retrievers import BaseRetriever


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion (Cormack et al. 2009): sum of weight / (k + rank) over rankings."""
    fused: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, node_id in enumerate(ranking, start=1):
            fused[node_id] = fused.get(node_id, 0.0) + weight / (k + rank)
    return fused


def cap_per_doc(ranked: list[ScoredChunk], k: int, cap: int) -> list[ScoredChunk]:
    """Top-k with at most `cap` chunks per story, topped up from the rest when stories run out.

    A story is an article with its syndicated copies (metadata ``source_key``), or the article alone.
    """
    picked: list[ScoredChunk] = []
    counts: dict[str, int] = {}
    rest: list[ScoredChunk] = []
    for item in ranked:
        doc = str(item.node.metadata.get("source_key") or item.node.metadata.get("doc_id"))
        if counts.get(doc, 0) < cap:
            picked.append(item)
            counts[doc] = counts.get(doc, 0) + 1
        else:
            rest.append(item)
    chosen = (picked + rest)[:k]
    order = {id(item): i for i, item in enumerate(ranked)}
    return sorted(chosen, key=lambda item: order[id(item)])


class HybridRetriever:
    """Dense + BM25 with RRF and a per-story cap (`as_llama_retriever` for llama-index code)."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings, lexicon: Lexicon,
                 scorer: SentenceScorer | None = None) -> None:
        self.scorer = scorer
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.lexicon = lexicon
        self.top_k = settings.top_k

    def as_llama_retriever(self) -> BaseRetriever:
        """This retriever as a llama-index `BaseRetriever` (TextNodes), e.g. for a query engine."""
        from rag.retrieve.llama_retriever import LlamaHybridRetriever

        return LlamaHybridRetriever(self)

    def search(self, query: str, k: int, frame: TimeFrame | None = None) -> list[ScoredChunk]:
        """The fused top-k for a query; with a time frame, nothing published after its as_of date, and
        passages from the window its words point at ranked up."""
        s = self.settings
        as_of = frame.as_of if frame else None
        max_day = day_number(as_of) if as_of else None
        if max_day is not None and max_day >= self.store.newest_day():
            max_day = None  # asked after the newest article (as of today, usually): nothing to filter out
        # Chroma holds vectors only, so the date filter on the dense side is applied to the catalogue's
        # nodes after the query: ask for more candidates so that enough eligible ones remain.
        dense_k = s.fetch_k * (s.as_of_overfetch if max_day is not None else 1)
        dense = self.store.dense(self.embedder.get_query_embedding(self.lexicon.expand(query)), dense_k)
        pruning = Pruning(s.lexical_postings, s.lexical_pool, s.lexical_rounds)
        lexical = self.store.lexical(lexical_tokens(query, self.lexicon), s.fetch_k, max_day, pruning)
        nodes = self.store.nodes(list(dict.fromkeys(dense + [i for i, _ in lexical])))
        if as_of and max_day is not None:
            dense = [i for i in dense if i in nodes and eligible(nodes[i].metadata, as_of)][: s.fetch_k]
        fused = rrf([(dense, s.dense_weight), ([i for i, _ in lexical], s.bm25_weight)], s.rrf_k)
        order = sorted(fused, key=lambda i: -fused[i])
        # ids the catalogue does not know (stray vectors) drop out here
        ranked = [ScoredChunk(node=nodes[i], score=fused[i]) for i in order if i in nodes]
        if self.scorer is not None and s.rerank:
            ranked = self._rerank(query, ranked[: s.fetch_k])
        if frame is not None and frame.time_bound and s.time_weight:
            ranked = favour_window(ranked, frame, s.time_weight)
        return cap_per_doc(ranked, k, s.per_doc_cap)

    def _rerank(self, query: str, ranked: list[ScoredChunk]) -> list[ScoredChunk]:
        """Order passages by their best sentence's score: the fused rank says "on topic", the sentence
        scorer says "answers this kind of question" (a date for "when", a number for "how many")."""
        assert self.scorer is not None
        passages = [Passage(node=r.node, score=float(r.score or 0.0), number=i)
                    for i, r in enumerate(ranked, start=1)]
        best: dict[str, float] = {}
        for cand in self.scorer.rank(query, passages):
            best.setdefault(cand.passage.node.node_id, cand.score)
        rescored = [ScoredChunk(node=r.node, score=best.get(r.node.node_id, -1.0)) for r in ranked]
        return sorted(rescored, key=lambda r: -float(r.score or 0.0))


def favour_window(ranked: list[ScoredChunk], frame: TimeFrame, weight: float) -> list[ScoredChunk]:
    """Re-sort by relevance (scaled to 0..1 over these candidates, so it works on fused or reranked
    scores alike) plus `weight` x how well the passage's date fits the question's window."""
    if not ranked:
        return ranked
    scores = [float(r.score or 0.0) for r in ranked]
    low, high = min(scores), max(scores)
    span = (high - low) or 1.0
    rescored = [ScoredChunk(node=r.node, score=(sc - low) / span + weight * time_fit(r.node.metadata, frame))
                for r, sc in zip(ranked, scores, strict=True)]
    return sorted(rescored, key=lambda r: -float(r.score or 0.0))


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors."""
    va, vb = np.asarray(a), np.asarray(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-12))
