"""`Assistant`: the one object the CLI, the UI and Python users talk to."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from rag.answer.extractive import ExtractiveGenerator
from rag.errors import RagError
from rag.ingest.embed import Embedder, embedder_name, make_embedder
from rag.ingest.store import Store, open_store
from rag.models import Answer, Passage
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.rerank import SentenceScorer
from rag.retrieve.spelling import IndexVocabulary, correct_spelling
from rag.retrieve.timeframe import as_of_lead, timeframe
from rag.settings import Settings
from rag.text.lexicon import Lexicon, corpus_lexicon
from rag.text.places import Gazetteer

if TYPE_CHECKING:  # imported where used: serving a question needs neither the OpenAI client nor the
    # ingest pipeline's parsers, and importing them costs about 1.5 s of every cold start
    from rag.answer.llm import Generator
    from rag.ingest.pipeline import IngestReport

History = Sequence[tuple[str, str]]  # (question, answer) pairs, oldest first
T = TypeVar("T")


class _Once(Generic[T]):
    """Like `functools.cached_property`, but built under the assistant's lock, so threads asking at the
    same moment share one embedder, store and retriever instead of each building its own (Python 3.12
    dropped cached_property's lock; 3.11's was one lock for every instance). Once built, the value sits
    in the instance ``__dict__`` and is read without the lock; popping it from there resets it."""

    def __init__(self, factory: Callable[[Assistant], T]) -> None:
        self.factory = factory
        self.name = factory.__name__
        self.__doc__ = factory.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Once[T]: ...

    @overload
    def __get__(self, obj: Assistant, owner: type | None = None) -> T: ...

    def __get__(self, obj: Assistant | None, owner: type | None = None) -> T | _Once[T]:
        if obj is None:
            return self
        with obj._lock:
            if self.name not in obj.__dict__:
                obj.__dict__[self.name] = self.factory(obj)
            return obj.__dict__[self.name]  # type: ignore[no-any-return]


class Assistant:
    """Cited answers over the indexed articles; safe to share between threads.

    `Assistant()` reads settings from the environment and opens the default index. Parts are created on
    first use, so constructing one is cheap. When `ask` finds the index empty, it first indexes the demo
    articles in ``seeds/`` and says so in the answer's notes; nothing else adds the seeds.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None) -> None:
        """`embedder` replaces the one the settings name (e.g. `EncoderProcess` for a one-shot command)."""
        self.settings = settings or Settings.from_env()
        # One re-entrant lock guards lazy construction and every index write (ingest, seeding); reads
        # (retrieve, answer) run in parallel on the parts once they exist.
        self._lock = threading.RLock()
        self._has_articles = False  # set once the index was seen non-empty, to skip asking again
        if embedder is not None:
            self.__dict__["embedder"] = embedder  # what `_Once` would have built

    @_Once
    def embedder(self) -> Embedder:
        """The embedding model (shared by indexing, retrieval and the extractive answerer)."""
        return make_embedder(self.settings)

    @_Once
    def lexicon(self) -> Lexicon:
        """The corpus lexicon (name variants, word groups): RAG_LEXICON_PATH, else the lexicon.json files
        of the ingested folders, else none."""
        return corpus_lexicon(self.settings.lexicon_path, self.settings.lexicon_file)

    @_Once
    def store(self) -> Store:
        """The Chroma collection and its catalogue."""
        return open_store(self.settings, embedder_name(self.settings))

    @_Once
    def retriever(self) -> HybridRetriever:
        """Hybrid dense + BM25 retriever over the store."""
        return HybridRetriever(self.store, self.embedder, self.settings, self.lexicon, scorer=self.scorer)

    @_Once
    def scorer(self) -> SentenceScorer:
        """Sentence scoring shared by the reranker and the extractive answerer (one vector cache)."""
        return SentenceScorer(self.embedder, self.lexicon, self.settings.answer, stored=self.store.sentence_vectors)

    @_Once
    def gazetteer(self) -> Gazetteer | None:
        """Place names by kind for typing "which country/state/city" answers (None when switched off)."""
        return Gazetteer(self.lexicon) if self.settings.answer.gazetteer else None

    @_Once
    def vocabulary(self) -> IndexVocabulary:
        """Words of the indexed articles, for correcting typos in questions (looked up in the index)."""
        catalog = self.store.catalog
        return IndexVocabulary(lambda: catalog.conn)

    def ingest(self, path: str | Path, *, rebuild: bool = False, progress: bool = False) -> IngestReport:
        """Add or update the articles at `path` (folder or file); `rebuild` drops the index first."""
        from rag.ingest.pipeline import ingest_path

        with self._lock:  # one writer at a time; questions keep using the current retriever meanwhile
            if rebuild:
                self.__dict__["store"] = open_store(self.settings, embedder_name(self.settings), rebuild=True)
                self.settings.lexicon_file.unlink(missing_ok=True)  # starting over forgets old lexicons too
            report = ingest_path(Path(path), self.store, self.embedder, self.settings, progress=progress)
            # The lexical index and vocabulary are read from disk per question, but a folder's lexicon.json
            # may have joined the index's lexicon: parts holding the old one (or the old store) are rebuilt.
            for name in ("retriever", "vocabulary", "lexicon", "scorer"):
                self.__dict__.pop(name, None)
            return report

    def seed_if_empty(self) -> IngestReport | None:
        """Index the demo articles of ``seeds/`` when the index holds nothing; the report, or None when
        the index already had articles (or there are no seeds)."""
        if self._has_articles:
            return None
        with self._lock:
            if self._has_articles or self.store.count() > 0 or not self.settings.seeds_dir.is_dir():
                self._has_articles = self._has_articles or self.store.count() > 0
                return None
            report = self.ingest(self.settings.seeds_dir)
            self._has_articles = True
            return report

    def retrieve(self, question: str, k: int | None = None, *, as_of: date | str | None = None) -> list[Passage]:
        """The top-k passages for a question asked on `as_of` (a date or "YYYY-MM-DD", default today),
        numbered from 1: nothing published after that day, and passages from the period its words name
        ("this week") first."""
        question, k, frame = _question_text(question), _top_k(k, self.settings.top_k), timeframe(question, as_of)
        results = self.retriever.search(question, k, frame)
        return [Passage(node=r.node, score=float(r.score or 0.0), number=i)
                for i, r in enumerate(results, start=1)]

    def ask(self, question: str, history: History | None = None, *, k: int | None = None,
            llm: str | None = None, as_of: date | str | None = None) -> Answer:
        """Answer a question (a follow-up when `history` is given) with citations, as it would have been
        answered on `as_of` (default today)."""
        answer: Answer | None = None
        for item in self.stream(question, history, k=k, llm=llm, as_of=as_of):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History | None = None, *, k: int | None = None,
               llm: str | None = None, as_of: date | str | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as the answer is written, then the final `Answer` (see `ask`)."""
        question = _question_text(question)
        k = _top_k(k, self.settings.top_k)
        mode = llm or self.settings.resolved_llm
        if mode not in ("extractive", "openai"):
            raise RagError(f"Unknown answer mode {mode!r}: use extractive or openai.")
        generator = self._generator(mode)
        seeded = self.seed_if_empty()
        standalone = correct_spelling(self._condense(question, history or [], mode), self.vocabulary)
        frame = timeframe(standalone, as_of)
        t0 = time.perf_counter()
        passages = self.retrieve(standalone, k, as_of=frame.as_of)
        t1 = time.perf_counter()
        # A question tied to a period ("this week") is only right as of a date: the answer says which.
        lead = as_of_lead(frame.as_of) if frame.time_bound else ""
        if lead:
            yield lead
        for item in generator.stream(standalone, passages, frame):
            if isinstance(item, Answer):
                item.question = question
                item.rewritten_question = standalone if standalone != question else None
                item.timings = {"retrieve": t1 - t0, "generate": time.perf_counter() - t1}
                if seeded is not None:
                    item.notes.append(f"The index was empty, so the {len(seeded.added)} demo articles in "
                                      f"{self.settings.seeds_dir} were indexed first; add your own with "
                                      "`rag ingest FOLDER`.")
                item.as_of = frame.as_of
                # "As of 5 December 2024, the articles don't say.": a refusal reads on after the lead.
                body = item.text[:1].lower() + item.text[1:] if lead and item.refused else item.text
                item.text = lead + body
            yield item

    def _condense(self, question: str, history: History, mode: str) -> str:
        if not history:
            return question
        from rag.answer.condense import condense_question

        return condense_question(question, history, self.settings if mode == "openai" else None)

    def _generator(self, mode: str) -> Generator:
        if mode == "openai":
            from rag.answer.llm import OpenAIGenerator

            return OpenAIGenerator(self.settings)
        return ExtractiveGenerator(self.scorer, self.gazetteer)


def _question_text(question: object) -> str:
    """The question stripped; a clear error for an empty one or for something that is not text."""
    if not isinstance(question, str):
        raise RagError(f"The question must be text, not {type(question).__name__}.")
    question = question.strip()
    if not question:
        raise RagError("The question is empty; ask something about the articles.")
    return question


def _top_k(k: object, default: int) -> int:
    """How many passages to retrieve: `default` for None; a whole number of at least 1 otherwise (0 or -1
    would silently mean the default or a slice from the end)."""
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise RagError(f"k must be a whole number of at least 1, not {k!r}.")
    return k
