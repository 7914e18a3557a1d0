"""Sentence scoring: how well each sentence of the retrieved passages answers the question.

A sentence scores by how much of the question it covers (idf-weighted words, with aliases and the
sentence before as context), by embedding similarity, and by whether it holds what the question asks for
(a date for "when", a distance for "how far", a number for "how many", a name for "who"). The extractive
answerer quotes the best sentences; the retriever reranks passages by their best sentence.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.models import Passage
from rag.text.lexicon import Aliases
from rag.text.sentences import sentence_spans
from rag.text.tokens import lexical_tokens

_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)")
_NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|fifty|hundred)"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(rf"\b(?:{_MONTH}\.? \d{{1,2}}(?:, \d{{4}})?|\d{{1,2}} {_MONTH}(?: \d{{4}})?|"
                       rf"(?:since |until |in )?(?:the )?(?:spring|summer|autumn|fall|winter|end) of \d{{4}}|"
                       rf"(?:last |on |this |since last )?{_WEEKDAY}|yesterday|today|tonight|overnight|"
                       rf"(?:last|this|earlier this|next) (?:week|month|year)|{_MONTH} \d{{4}}|"
                       rf"(?:in |since |until )\d{{4}}|\b(?:19|20)\d{{2}}\b)", re.IGNORECASE),
    "distance": re.compile(rf"\b(?:\d[\d,.]*|{_NUMBER_WORDS})\s*(?:-\s*)?"
                           r"(?:kilomet(?:er|re)s?|km|miles?|meters?|metres?)\b", re.I),
    # Years are dates, not quantities: "since 2020" does not answer "how many".
    "number": re.compile(rf"\b(?!(?:19|20)\d\d\b)(?:\d[\d,.]*|{_NUMBER_WORDS}|dozens?|hundreds?|thousands?|"
                         r"millions?|several)\b", re.I),
    "name": re.compile(r"\b[A-Z][a-z]+(?:[ -](?:al-|bin |de )?[A-Z][a-z]+)+\b"),
    "place": re.compile(r"\b(?:in|at|to|from|near|outside) (?:the )?[A-Z][a-z]+"),
    "reason": re.compile(r"\b(?:because|due to|in order to|so as to|aims? to|aimed at|to preserve|to protect|"
                         r"in response to|as a result|after|following|owing to|by heavy|forced)\b", re.I),
}


def question_kind(question: str) -> str | None:
    """What the question asks for: "date", "distance", "number", "name", "place", "reason" or None."""
    q = question.lower()
    if re.search(r"\b(when|what (?:day|date|year|month)|which (?:day|date|year|month)|since when|how long ago)\b",
                 q):
        return "date"
    if re.search(r"\bhow (far|close|distant)\b|\bdistance\b|\bkilomet", q):
        return "distance"
    if re.search(r"\bhow (many|much)\b|\bnumber of\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose|which (?:group|person|official|minister|spokesman|spokesperson|general|"
                 r"commander|agency|outlet|newspaper|broadcaster)s?|(?:the )?name of|what is (?:his|her|their) name)"
                 r"\b|^\s*name\b", q):
        return "name"
    if re.search(r"^\s*where\b|\bin which (?:city|country|town|place)\b", q):
        return "place"
    if re.search(r"^\s*why\b|\bfor what reason\b|\bwhat (?:was|is) the reason\b", q):
        return "reason"
    return None


@dataclass
class Candidate:
    """One sentence of one passage, scored."""

    passage: Passage
    start: int  # offsets within the passage text
    end: int
    score: float
    lexical: float
    dense: float

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


class SentenceScorer:
    """Scores sentences against a question; sentence vectors are cached, since passages recur. Thread-safe."""

    def __init__(self, embedder: BaseEmbedding, aliases: Aliases, cache_size: int = 50_000) -> None:
        self.embedder = embedder
        self.aliases = aliases
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}  # sentence text -> unit vector
        self._lock = threading.Lock()

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every sentence of the passages, best supported first."""
        spans = _unique_sentences(passages)
        if not spans:
            return []
        q_tokens = set(lexical_tokens(question, self.aliases))
        idf = _idf([set(lexical_tokens(p.text[s:e], self.aliases)) for p, s, e in spans])
        vectors = self._embed([p.text[s:e] for p, s, e in spans])
        q_vec = np.asarray(self.embedder.get_query_embedding(self.aliases.expand(question)))
        kind = question_kind(question)
        focus = self.focus(question)
        out = []
        previous: tuple[str, set[str]] = ("", set())
        for (passage, s, e), vec in zip(spans, vectors, strict=True):
            text = passage.text[s:e]
            tokens = set(lexical_tokens(text, self.aliases))
            # A sentence often names its subject only in the sentence before ("A day later, on November 30,
            # the second largest city ... came under the control"): lend it part of that context.
            context = previous[1] if previous[0] == passage.doc_id else set()
            lexical = max(_coverage(q_tokens, tokens, idf), 0.8 * _coverage(q_tokens, tokens | context, idf))
            previous = (passage.doc_id, tokens)
            dense = float(np.asarray(vec) @ q_vec)
            score = (0.5 * lexical + 0.5 * dense + _kind_bonus(kind, text, question)
                     + self._focus_penalty(focus, text) - 0.01 * (passage.number - 1))
            out.append(Candidate(passage, s, e, score, lexical, dense))
        return sorted(out, key=lambda c: -c.score)

    def focus(self, question: str) -> str | None:
        """The thing counted in "how many X" / "number of X": a sentence without X cannot answer it."""
        match = re.search(r"\b(?:how many|how much|number of)\s+(.+)", question, re.I)
        tokens = lexical_tokens(match.group(1), self.aliases) if match else []
        return tokens[0] if tokens else None

    def _focus_penalty(self, focus: str | None, text: str) -> float:
        return 0.0 if focus is None or focus in lexical_tokens(text, self.aliases) else -0.1

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        # The cache is shared by every thread answering; it is read and written under the lock, and the
        # embedding itself runs outside it, so concurrent questions embed in parallel.
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = {text: np.asarray(vec, dtype=np.float32)
                     for text, vec in zip(missing, self.embedder.get_text_embedding_batch(missing), strict=True)}
            found.update(fresh)
            with self._lock:
                if len(self._vectors) + len(fresh) > self.cache_size:
                    self._vectors.clear()  # a crude bound: corpora this large re-embed on demand
                self._vectors.update(fresh)
        return [found[t] for t in texts]


def _unique_sentences(passages: list[Passage]) -> list[tuple[Passage, int, int]]:
    # Overlapping chunks repeat sentences; keep each article sentence once, in its best-ranked passage.
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        for s, e in sentence_spans(p.text):
            key = (p.doc_id, p.start + s)
            if key not in seen:
                seen.add(key)
                out.append((p, s, e))
    return out


def _idf(sentences: list[set[str]]) -> dict[str, float]:
    n = len(sentences)
    df: dict[str, int] = {}
    for tokens in sentences:
        for t in tokens:
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + n / c) for t, c in df.items()}


def _coverage(question: set[str], sentence: set[str], idf: dict[str, float]) -> float:
    """Share of the question's (idf-weighted) content words that the sentence contains."""
    if not question:
        return 0.0
    unseen = math.log(1 + len(idf) or 2)  # words absent from every passage weigh the most
    total = sum(idf.get(t, unseen) for t in question)
    return sum(idf.get(t, unseen) for t in question & sentence) / total


_DAY = re.compile(rf"{_MONTH}\.? \d{{1,2}}\b|\b\d{{1,2}} {_MONTH}|\b{_WEEKDAY}\b|yesterday|today", re.I)


def _kind_bonus(kind: str | None, text: str, question: str) -> float:
    """Reward sentences holding what the question asks for; a day beats a bare year for "when"."""
    if kind is None:
        return 0.0
    matches = PATTERNS[kind].findall(text)
    if kind == "name":
        q = question.lower()
        matches = [m for m in matches if m.lower() not in q]
    if kind == "date":
        return (0.12 if _DAY.search(text) else 0.03) if matches else -0.1
    if kind in ("place", "reason"):  # softer: these patterns only hint
        return 0.08 if matches else 0.0
    # A "who"/"how many"/"how far" question is not answered by a sentence without a name/number/distance.
    return 0.12 if matches else -0.2
