"""`HybridRetriever` behind llama-index's `BaseRetriever`, for llama-index code (a query engine, an
evaluator). The project calls `HybridRetriever.search` directly, so that serving a question does not import
llama-index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from rag.ingest.split import to_text_node

if TYPE_CHECKING:
    from rag.retrieve.hybrid import HybridRetriever


class LlamaHybridRetriever(BaseRetriever):
    """The fused, reranked top-k of a `HybridRetriever` as llama-index nodes."""

    def __init__(self, hybrid: HybridRetriever) -> None:
        super().__init__()
        self.hybrid = hybrid

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.hybrid.search(query_bundle.query_str, self.hybrid.top_k)
        return [NodeWithScore(node=to_text_node(r.node), score=r.score) for r in found]
