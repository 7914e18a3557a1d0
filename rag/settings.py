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
class AnswerConfig:
    """Every weight and threshold of the sentence scorer and the extractive answerer, in one place.

    Read from ``RAG_ANSWER_<FIELD>`` (e.g. ``RAG_ANSWER_MIN_SUPPORT=0.4``). The defaults were measured on the
    RealTimeQA 2022-2023 dev weeks and the seed gold set together (see the commit messages that set them).
    """

    # Below this support score the answer is "The articles don't say" (calibrated with the seed
    # unanswerables and the RealTimeQA dev split, not the seed gold alone).
    min_support: float = 0.44
    # A sentence's support: weighted word coverage plus weighted embedding similarity.
    lexical_weight: float = 0.5
    dense_weight: float = 0.5
    # A question led by context ("X happened. What ...?"): its asking sentence's share of the dense side's vector.
    asking_share: float = 0.5
    context_discount: float = 0.8  # the sentence before lends its words at this discount
    rank_penalty: float = 0.01  # per passage rank: ties go to the retriever's better passage
    # Does the sentence hold what the question asks for (a date, a number, a name)?
    kind_bonus: float = 0.12  # it does (for a date: a day, not just a year)
    kind_weak_bonus: float = -0.03  # a "when" question answered only by a year or a month
    hint_bonus: float = 0.08  # place / reason: patterns that only hint
    kind_penalty: float = 0.2  # a "who"/"how many" sentence without any name/number
    date_penalty: float = 0.2  # a "when" sentence without any date
    date_off_event_bonus: float = 0.0  # ... with a date but none of the question's event words (it dates another)
    focus_penalty: float = 0.1  # "how many X" and the sentence never names X
    # Recency (rag.answer.extractive): a sentence of an article this much older than the newest retrieved
    # one loses up to recency_penalty, in proportion to its age up to recency_days.
    recency_penalty: float = 0.1
    recency_days: float = 30.0
    # A question naming its period ("this week"): a dated sentence from outside the window loses up to this.
    window_penalty: float = 0.1
    # Quoting a second outlet, and reporting disagreements.
    second_source: float = 0.85  # a second article is quoted when its best sentence scores this share
    # "the publication" describes what "which paper" asks for at this embedding similarity or more (0: only
    # the very head noun counts); such a best sentence is quoted with the named sentences beside it.
    describe_similarity: float = 0.5
    conflict_share: float = 0.7  # a rival date/count counts when its sentence scores this share
    # ... and only when the two counts are within this factor of each other: outlets round and tolls grow,
    # but "7 million miles" against "15,000 miles" are two distances, not two reports of one (0: any two).
    conflict_ratio: float = 3.0
    part_floor: float = 0.85  # compound questions: later parts may score this share of min_support
    pair_doc_bonus: float = 0.05  # compound questions: two outlets beat one
    # Answer redundancy (rag.answer.candidates): the names the best sentences give vote, one vote per article.
    redundancy_pool: int = 20  # at most this many of the best sentences vote
    redundancy_margin: float = 0.5  # ... and only those within this much of the best score
    redundancy_temperature: float = 0.05  # a vote weighs exp((score - best) / temperature)
    redundancy_weight: float = 0.2  # a sentence gains this x its best answer's value relative to the top
    # An article's headline names what its story is about: a name in it gets this share of the article's
    # vote (its best sentence's), as if that sentence held it (0: headlines never vote).
    headline_vote: float = 1.0
    # The best sentence holding the best-valued answer is quoted first when the sentence that leads after the
    # lift holds an answer valued at least this much lower (0: the lift alone decides).
    winner_margin: float = 0.8
    who_type: str = "person"  # what a "who" question is taken to ask for, as "which X" asks for X ("": none)
    type_weight: float = 3.0  # an answer's value: relative support + this x its similarity to "which X"'s X
    # ... its relative support counting 1 + this times when a sentence names it in apposition with X's
    # head noun ("the zodiac sign Cancer", "Parler, the social media platform"): the article says it is an X.
    apposition_weight: float = 3.0
    # ... and so does a name the gazetteer lists as that kind of place ("which country": Moldova, not Brussels;
    # rag.text.places). False: only the articles' own words say what a name is.
    gazetteer: bool = True
    # "Iranian lawmakers" holds Iran for "which country ...", when the place's embedding similarity to the
    # asked-for noun is at least this (0: people words never stand for places).
    people_fit: float = 0.5
    # An answer says its plainest form ("Japan") instead of its fullest ("Japan Meteorological Agency") when
    # the plain one fits the asked-for noun by this much more: a fuller name is often another thing.
    plain_name_margin: float = 0.1


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
    # `rag ask` loads the model in a helper process while it imports the store (rag.ingest.embed_process);
    # 0 keeps it in process (one process, less memory, about 0.35 s slower to a first answer).
    embed_process: bool = True
    openai_embed_model: str = "text-embedding-3-small"

    chunk_size: int = 128  # tokens (cl100k_base); bench/ and rag eval chose it
    chunk_overlap: int = 32

    # Caps on what one file may cost to ingest, for the CLI, Python and UI uploads alike. A file over a
    # cap is skipped with a message naming the setting. A news article is 5-50 KB and 5-60 chunks; the
    # defaults leave room for long reads and JSONL feeds while keeping one file's embedding under a
    # minute (500 chunks at about 24 chunks/s on 2 cores) instead of hours (a 50 MB file: 110,608 chunks).
    max_file_mb: float = 10.0
    max_chunks_per_article: int = 500
    max_html_elements: int = 50_000  # trafilatura spends about 0.1 ms per element; pages have a few thousand
    top_k: int = 5

    # Hybrid retrieval (reciprocal rank fusion of dense and BM25 rankings).
    dense_weight: float = 1.0
    bm25_weight: float = 2.0  # names and dates matter in news: the exact-word side gets more say
    rrf_k: int = 60
    fetch_k: int = 20  # candidates each retriever contributes before fusion
    per_doc_cap: int = 2  # at most this many chunks of one article in the top-k
    # The lexical side's work per question (rag.retrieve.lexical.search): above this many postings, only
    # the rarest query words are matched and the best lexical_pool chunks are scored on every word.
    lexical_postings: int = 40_000
    lexical_pool: int = 1000
    lexical_rounds: int = 1  # more rounds match more words until the top k is proven exact
    rerank: bool = True  # rerank the fused top fetch_k by their best sentence (rag.retrieve.rerank)
    # An optional lexicon (name variants, word groups; rag.text.lexicon). Unset: the lexicon.json files of
    # the ingested folders, which ingest keeps beside the index.
    lexicon_path: Path | None = None
    # Questions with relative time words ("this week"): how much a passage dated inside that window gains,
    # on relevance scaled to 0..1 over the candidates (rag.retrieve.timeframe).
    time_weight: float = 0.3
    # Chroma holds vectors only, so as_of is applied after the dense query: fetch this many times fetch_k.
    as_of_overfetch: int = 4

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
    # How the LLM replies: "json" asks for JSON matching prompts/answer_schema.json (constrained decoding
    # via response_format, falling back to "text" when the server rejects it); "text" asks for an outcome
    # line and cited prose (prompts/answer_system.txt). bench/llm_small.py measured both.
    llm_reply_format: Literal["json", "text"] = "json"
    # JSON replies: an answer that adds nothing its cited passages state (its words beyond the question's
    # are not in them) is read as a refusal, with a note.
    llm_check_answer: bool = True
    # JSON replies: cite the passage the model's quote comes from when the cited ones hold neither the
    # quote nor the answer.
    llm_cite_quote: bool = True
    # JSON replies: an answer its cited passages do not state, but another passage does, is cited to that
    # passage instead of being refused (llm_check_answer).
    llm_cite_answer: bool = True

    answer: AnswerConfig = field(default_factory=AnswerConfig)

    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    ui_concurrency: int = 8  # questions the UI answers at once (each is about 0.1 s of CPU on the seeds)
    feedback_path: Path | None = None

    @property
    def index_dir(self) -> Path:
        """Where the persistent Chroma database (and the BM25 index beside it) live."""
        return self.data_dir / "index"

    @property
    def lexicon_file(self) -> Path:
        """The index's own lexicon: the merged lexicon.json files of the folders ingested into it."""
        return self.data_dir / f"lexicon-{self.collection}.json"

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
        values["answer"] = _answer_from_env(env)
        for f in fields(cls):
            if f.name == "answer":
                continue
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, str(f.type), raw)
        values.setdefault("openai_api_key", env.get("OPENAI_API_KEY") or None)
        values.setdefault("openai_base_url", env.get("OPENAI_BASE_URL") or None)
        settings = cls(**values)
        _validate(settings)
        return settings


def _answer_from_env(env: Mapping[str, str]) -> AnswerConfig:
    values = {}
    for f in fields(AnswerConfig):
        raw = env.get(f"{PREFIX}ANSWER_{f.name.upper()}")
        # An empty value is "unset", except for a text field, where "" is a setting ("who" asks for no type).
        if raw or (raw == "" and str(f.type).startswith("str")):
            values[f.name] = _coerce(f"ANSWER_{f.name}", str(f.type), raw)
    return AnswerConfig(**values)


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
    if s.llm_reply_format not in ("json", "text"):
        raise RagError(f"{PREFIX}LLM_REPLY_FORMAT must be json or text, not {s.llm_reply_format!r}.")
    if s.llm_passages < 1:
        raise RagError(f"{PREFIX}LLM_PASSAGES must be at least 1.")
    if s.top_k < 1:
        raise RagError(f"{PREFIX}TOP_K must be at least 1.")
    for name in ("max_file_mb", "max_chunks_per_article", "max_html_elements", "ui_concurrency", "lexical_postings",
                 "lexical_pool", "lexical_rounds"):
        if getattr(s, name) <= 0:
            raise RagError(f"{PREFIX}{name.upper()} must be greater than 0, not {getattr(s, name)}.")
