"""The offline MiniLM model as a llama-index `BaseEmbedding`, for llama-index code (an index, a query
engine, the plain pipeline in ``bench/``). The project itself calls `rag.ingest.embed.MiniLMEncoder`
directly, so that serving a question does not import llama-index."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from rag.ingest.embed import MINILM_NAME, MiniLMEncoder


class MiniLMEmbedding(BaseEmbedding):
    """all-MiniLM-L6-v2 (int8 ONNX) behind llama-index's embedding interface."""

    _encoder: MiniLMEncoder = PrivateAttr()

    def __init__(self, embed_batch_size: int = 32, threads: int = 0, encoder: MiniLMEncoder | None = None,
                 **kwargs: Any) -> None:
        super().__init__(model_name=MINILM_NAME, embed_batch_size=embed_batch_size, **kwargs)
        self._encoder = encoder or MiniLMEncoder(embed_batch_size=embed_batch_size, threads=threads)

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.get_text_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
