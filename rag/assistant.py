"""`Assistant`: the one object the CLI, the UI and Python users talk to."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answer.extractive import ExtractiveGenerator
from rag.answer.llm import Generator, OpenAIGenerator
from rag.errors import RagError
from rag.ingest.embed import embedder_name, make_embedder
from rag.ingest.pipeline import IngestReport, ingest_path
from rag.ingest.store import Store, open_store
from rag.models import Answer, Passage
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.rerank import SentenceScorer
from rag.retrieve.spelling import correct_spelling, vocabulary
from rag.retrieve.timeframe import as_of_lead, timeframe
from rag.settings import Settings
from rag.text.lexicon import Lexicon

History = Sequence[tuple[str, str]]  # (question, answer) pairs, oldest first


class Assistant:
    """Cited answers over the indexed articles.

    `Assistant()` reads settings from the environment, opens the default index and, the first time,
    builds it from ``seeds/``. Parts are created on first use, so constructing one is cheap.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()

    @cached_property
    def embedder(self) -> BaseEmbedding:
        """The embedding model (shared by indexing, retrieval and the extractive answerer)."""
        return make_embedder(self.settings)

    @cached_property
    def lexicon(self) -> Lexicon:
        """The corpus lexicon (name variants, word groups): RAG_LEXICON_PATH, else the lexicon.json files
        of the ingested folders, else none."""
        if self.settings.lexicon_path is not None:
            return Lexicon.load(self.settings.lexicon_path)
        self.store  # noqa: B018 - building the index from the seeds keeps their lexicon first
        found = self.settings.lexicon_file
        return Lexicon.load(found) if found.is_file() else Lexicon()

    @cached_property
    def store(self) -> Store:
        """The Chroma collection, built from the seeds if it is empty."""
        store = open_store(self.settings, embedder_name(self.settings))
        if store.count() == 0 and self.settings.seeds_dir.is_dir():
            ingest_path(self.settings.seeds_dir, store, self.embedder, self.settings, progress=False)
        return store

    @cached_property
    def retriever(self) -> HybridRetriever:
        """Hybrid dense + BM25 retriever over the store."""
        return HybridRetriever(self.store, self.embedder, self.settings, self.lexicon, self._lexical_dir,
                               scorer=self.scorer)

    @cached_property
    def scorer(self) -> SentenceScorer:
        """Sentence scoring shared by the reranker and the extractive answerer (one vector cache)."""
        return SentenceScorer(self.embedder, self.lexicon, self.settings.answer)

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Words of the indexed articles, for correcting typos in questions."""
        return vocabulary(node.get_content() for node in self.retriever.nodes.values())

    @property
    def _lexical_dir(self) -> Path:
        where = "remote" if self.settings.chroma_url else "local"
        return self.settings.data_dir / f"bm25-{where}-{self.settings.collection}"

    def ingest(self, path: str | Path, *, rebuild: bool = False, progress: bool = False) -> IngestReport:
        """Add or update the articles at `path` (folder or file); `rebuild` drops the index first."""
        if rebuild:
            self.__dict__["store"] = open_store(self.settings, embedder_name(self.settings), rebuild=True)
            self.settings.lexicon_file.unlink(missing_ok=True)  # starting over forgets old lexicons too
        report = ingest_path(Path(path), self.store, self.embedder, self.settings, progress=progress)
        # The BM25 side, the vocabulary and the lexicon must see the new chunks (and lexicon.json).
        for name in ("retriever", "vocabulary", "lexicon", "scorer"):
            self.__dict__.pop(name, None)
        return report

    def retrieve(self, question: str, k: int | None = None, *, as_of: date | None = None) -> list[Passage]:
        """The top-k passages for a question asked on `as_of` (default today), numbered from 1: nothing
        published after that day, and passages from the period its words name ("this week") first."""
        results = self.retriever.search(question, k or self.settings.top_k, timeframe(question, as_of))
        return [Passage(node=r.node, score=float(r.score or 0.0), number=i)  # type: ignore[arg-type]
                for i, r in enumerate(results, start=1)]

    def ask(self, question: str, history: History | None = None, *, k: int | None = None,
            llm: str | None = None, as_of: date | None = None) -> Answer:
        """Answer a question (a follow-up when `history` is given) with citations, as it would have been
        answered on `as_of` (default today)."""
        answer: Answer | None = None
        for item in self.stream(question, history, k=k, llm=llm, as_of=as_of):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History | None = None, *, k: int | None = None,
               llm: str | None = None, as_of: date | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as the answer is written, then the final `Answer` (see `ask`)."""
        question = question.strip()
        if not question:
            raise RagError("The question is empty; ask something about the articles.")
        mode = llm or self.settings.resolved_llm
        if mode not in ("extractive", "openai"):
            raise RagError(f"Unknown answer mode {mode!r}: use extractive or openai.")
        generator = self._generator(mode)
        standalone = correct_spelling(self._condense(question, history or [], mode), self.vocabulary)
        frame = timeframe(standalone, as_of)
        t0 = time.perf_counter()
        passages = self.retrieve(standalone, k, as_of=frame.as_of)
        t1 = time.perf_counter()
        # A question tied to a period ("this week") is only right as of a date: the answer says which.
        lead = as_of_lead(frame.as_of) if frame.time_bound else ""
        if lead:
            yield lead
        for item in generator.stream(standalone, passages):
            if isinstance(item, Answer):
                item.question = question
                item.rewritten_question = standalone if standalone != question else None
                item.timings = {"retrieve": t1 - t0, "generate": time.perf_counter() - t1}
                item.as_of = frame.as_of
                item.text = lead + item.text
            yield item

    def _condense(self, question: str, history: History, mode: str) -> str:
        if not history:
            return question
        from rag.answer.condense import condense_question

        return condense_question(question, history, self.settings if mode == "openai" else None)

    def _generator(self, mode: str) -> Generator:
        if mode == "openai":
            return OpenAIGenerator(self.settings)
        return ExtractiveGenerator(self.scorer)
