"""The data that flows between the stages: Article -> Chunk -> Passage -> Answer.

Ingest splits articles into llama-index `TextNode`s; what is served back from the index is a `Chunk`, a
plain dataclass with the same attribute names (`node_id`, `text`, `metadata`, `start_char_idx`,
`get_content()`). Importing llama-index costs about 1.5 s of every process start, which is half of a cold
`rag ask`, so the serving path (catalogue, retriever, answerers) never imports it;
`rag.ingest.split.to_text_node` turns a chunk back into a TextNode for code that wants llama-index's type.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal


def day_number(day: date | None) -> int:
    """A date as the int YYYYMMDD (comparable in Chroma `where` filters); 0 for no date."""
    return day.year * 10000 + day.month * 100 + day.day if day else 0


@dataclass
class Article:
    """One cleaned article. `text` is what chunk spans and citation offsets point into."""

    doc_id: str  # path relative to the ingested folder, e.g. "000_0acf8dbdca9c3ed5.txt"
    text: str
    source: str  # file name
    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    url: str | None = None
    content_hash: str = ""

    def metadata(self) -> dict[str, Any]:
        """Flat metadata as stored with every chunk (Chroma accepts only str/int/float/bool)."""
        meta: dict[str, Any] = {"doc_id": self.doc_id, "source": self.source, "content_hash": self.content_hash}
        for key in ("title", "outlet", "url"):
            value = getattr(self, key)
            if value:
                meta[key] = value
        if self.published:
            meta["published"] = self.published.isoformat()
        # An int the as_of filter compares (SQL on the lexical side, eligible() on the dense side); 0 when
        # undated, so undated articles stay eligible.
        meta["published_day"] = day_number(self.published)
        return meta


@dataclass
class Chunk:
    """One stored chunk as the catalogue serves it: its text, the span it covers in the cleaned article,
    and the article's metadata (plus ``chunk``, ``source_key``, and ``dates``/``also_published`` if any)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    start_char_idx: int | None = None
    end_char_idx: int | None = None

    def get_content(self) -> str:
        """The chunk text (the name llama-index's nodes use, so either kind reads the same)."""
        return self.text


@dataclass
class ScoredChunk:
    """A chunk with the score a retrieval step gave it (llama-index's NodeWithScore, without llama-index)."""

    node: Chunk
    score: float = 0.0


@dataclass
class Passage:
    """A retrieved chunk, numbered [number] for the generator."""

    node: Chunk
    score: float
    number: int  # 1-based marker the generator cites

    @property
    def doc_id(self) -> str:
        return str(self.node.metadata["doc_id"])

    @property
    def text(self) -> str:
        return self.node.get_content()

    @property
    def start(self) -> int:
        """Character offset of this passage in the cleaned article."""
        return int(self.node.start_char_idx or 0)

    @property
    def meta(self) -> dict[str, Any]:
        return self.node.metadata

    @property
    def source_key(self) -> str:
        """The story this passage belongs to: syndicated copies of one article share it."""
        return str(self.node.metadata.get("source_key") or self.doc_id)


@dataclass
class AlsoPublished:
    """Another site that published the same story (a syndicated copy, collapsed into one source)."""

    doc_id: str
    outlet: str | None = None
    url: str | None = None
    title: str | None = None
    published: str | None = None  # ISO date

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> list[AlsoPublished]:
        """The copies listed in a chunk's metadata (``also_published``), if any."""
        return [cls(str(m.get("doc_id", "")), m.get("outlet"), m.get("url"), m.get("title"), m.get("published"))
                for m in meta.get("also_published") or []]

    def label(self) -> str:
        """"Outlet (url)", or whatever of the two is known, else the file."""
        if self.outlet and self.url:
            return f"{self.outlet} ({self.url})"
        return self.outlet or self.url or self.doc_id


@dataclass
class Citation:
    """One `[marker]` in an answer: which article, and the exact quote (with its span) it rests on."""

    marker: int
    doc_id: str
    source: str
    title: str | None
    outlet: str | None
    published: str | None  # ISO date
    quote: str
    start: int  # offsets of `quote` in the cleaned article text
    end: int
    passage: str = ""  # the whole retrieved passage, for display
    passage_start: int = 0
    also_published: list[AlsoPublished] = field(default_factory=list)  # syndicated copies of this story

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape of a citation."""
        data = asdict(self)
        data.pop("passage")
        data.pop("passage_start")
        return data


AnswerKind = Literal["answer", "refusal", "disagreement"]


@dataclass
class Answer:
    """What every generator returns, and what `rag ask --json` prints."""

    question: str
    text: str
    kind: AnswerKind  # the outcome, typed: readers never infer it from the wording
    short: str | None = None  # the answer itself ("5 December", "$48 million", "Hossein Akbari"), if known
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    rewritten_question: str | None = None  # the standalone form used for retrieval, if it differs
    passages: list[Passage] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)  # e.g. "LLM unreachable, answered extractively"
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)  # prompt/completion tokens for LLM answers
    as_of: date | None = None  # the day the question was asked as of (nothing published later was used)

    @property
    def refused(self) -> bool:
        """True when the articles do not answer the question."""
        return self.kind == "refusal"

    def to_dict(self) -> dict[str, Any]:
        """Exactly the JSON `rag ask --json` prints."""
        data: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "kind": self.kind,
            "short": self.short,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
        }
        if self.as_of:
            data["as_of"] = self.as_of.isoformat()
        if self.rewritten_question:
            data["rewritten_question"] = self.rewritten_question
        if self.notes:
            data["notes"] = list(self.notes)
        return data
