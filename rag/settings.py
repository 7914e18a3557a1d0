"""All configuration, read once from the environment (prefix ``RAG_``) and passed down explicitly.

OpenAI's own variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) are honoured as well, because that is
where users already keep them. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from rag.errors import RagError

PREFIX = "RAG_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

LlmMode = Literal["auto", "extractive", "openai"]
EmbedMode = Literal["minilm", "openai"]


def _default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "rag-news"


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant. Build one with `Settings.from_env()` or directly in tests."""

    data_dir: Path = field(default_factory=lambda: _default_data_dir(os.environ))
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    collection: str = "articles"
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 -> chromadb.HttpClient

    embed: EmbedMode = "minilm"
    embed_batch_size: int = 32
    openai_embed_model: str = "text-embedding-3-small"

    chunk_size: int = 128  # tokens (cl100k_base); bench/ and rag eval chose it
    chunk_overlap: int = 32
    top_k: int = 5

    # Hybrid retrieval (reciprocal rank fusion of dense and BM25 rankings).
    dense_weight: float = 1.0
    bm25_weight: float = 2.0  # names and dates matter in news: the exact-word side gets more say
    rrf_k: int = 60
    fetch_k: int = 20  # candidates each retriever contributes before fusion
    per_doc_cap: int = 2  # at most this many chunks of one article in the top-k
    rerank: bool = True  # rerank the fused top fetch_k by their best sentence (rag.retrieve.rerank)
    aliases_path: Path = PROJECT_ROOT / "rag" / "data" / "aliases.json"

    llm: LlmMode = "auto"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    llm_timeout: float = 120.0
    llm_max_tokens: int = 400
    temperature: float = 0.0
    # What the LLM reads: the first llm_passages retrieved passages, best first ("rank") or best last,
    # next to the question ("reverse"). bench/llm_small.py measured the choice on a small local model.
    llm_passages: int = 5
    llm_passage_order: Literal["rank", "reverse"] = "rank"

    # Extractive answerer: below this support score it says the articles don't say.
    min_support: float = 0.41

    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    max_upload_mb: float = 5.0
    feedback_path: Path | None = None

    @property
    def index_dir(self) -> Path:
        """Where the persistent Chroma database (and the BM25 index beside it) live."""
        return self.data_dir / "index"

    @property
    def feedback_file(self) -> Path:
        """JSONL file the UI appends thumbs up/down to."""
        return self.feedback_path or self.data_dir / "feedback.jsonl"

    @property
    def resolved_llm(self) -> Literal["extractive", "openai"]:
        """`auto` means OpenAI(-compatible) when a key or a base URL is set, extractive otherwise."""
        if self.llm != "auto":
            return self.llm
        return "openai" if (self.openai_api_key or self.openai_base_url) else "extractive"

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (settings are immutable)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``RAG_<FIELD>`` variables (plus ``OPENAI_API_KEY``/``OPENAI_BASE_URL``)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {"data_dir": _default_data_dir(env)}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, str(f.type), raw)
        values.setdefault("openai_api_key", env.get("OPENAI_API_KEY") or None)
        values.setdefault("openai_base_url", env.get("OPENAI_BASE_URL") or None)
        settings = cls(**values)
        _validate(settings)
        return settings


def _coerce(name: str, type_name: str, raw: str) -> Any:
    try:
        if "Path" in type_name:
            return Path(raw).expanduser()
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("bool"):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return raw
    except ValueError as exc:
        raise RagError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {type_name}; fix or unset it.") from exc


def _validate(s: Settings) -> None:
    if s.llm not in ("auto", "extractive", "openai"):
        raise RagError(f"{PREFIX}LLM must be auto, extractive or openai, not {s.llm!r}.")
    if s.embed not in ("minilm", "openai"):
        raise RagError(f"{PREFIX}EMBED must be minilm or openai, not {s.embed!r}.")
    if s.chunk_overlap >= s.chunk_size:
        raise RagError(f"{PREFIX}CHUNK_OVERLAP ({s.chunk_overlap}) must be smaller than {PREFIX}CHUNK_SIZE.")
    if s.llm_passage_order not in ("rank", "reverse"):
        raise RagError(f"{PREFIX}LLM_PASSAGE_ORDER must be rank or reverse, not {s.llm_passage_order!r}.")
    if s.llm_passages < 1:
        raise RagError(f"{PREFIX}LLM_PASSAGES must be at least 1.")
    if s.top_k < 1:
        raise RagError(f"{PREFIX}TOP_K must be at least 1.")
