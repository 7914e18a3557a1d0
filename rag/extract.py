"""The offline answerer: quote the sentences that best answer the question, cited; or refuse.

Each sentence of the retrieved passages is scored by how much of the question it covers (lexically,
with aliases, and by embedding similarity) and whether it holds the kind of thing the question asks
for (a date for "when", a distance for "how far", a number for "how many", a name for "who"). Below
`min_support` the answer is "The articles don't say".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.aliases import Aliases
from rag.cite import REFUSAL
from rag.conflict import KeyDate, date_conflict, key_date
from rag.models import Answer, Citation, Passage
from rag.retrieve import lexical_tokens
from rag.sentences import sentence_spans

_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)")
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(rf"\b(?:{_MONTH}\.? \d{{1,2}}(?:, \d{{4}})?|\d{{1,2}} {_MONTH}(?: \d{{4}})?|"
                       rf"(?:since |until |in )?(?:the )?(?:spring|summer|autumn|fall|winter|end) of \d{{4}}|"
                       rf"(?:last |on |this |since last )?{_WEEKDAY}|yesterday|today|tonight|overnight|"
                       rf"(?:last|this|earlier this|next) (?:week|month|year)|{_MONTH} \d{{4}}|"
                       rf"(?:in |since |until )\d{{4}}|\b(?:19|20)\d{{2}}\b)", re.IGNORECASE),
    "distance": re.compile(r"\b\d[\d,.]*\s*(?:-\s*)?(?:kilomet(?:er|re)s?|km|miles?|meters?|metres?)\b", re.I),
    "number": re.compile(r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                         r"dozens?|hundreds?|thousands?|millions?|several)\b", re.I),
    "name": re.compile(r"\b[A-Z][a-z]+(?:[ -](?:al-|bin |de )?[A-Z][a-z]+)+\b"),
}


def question_kind(question: str) -> str | None:
    """What the question asks for: "date", "distance", "number", "name" or None."""
    q = question.lower()
    if re.search(r"\b(when|what (?:day|date|year|month)|which (?:day|date|year|month)|since when|how long ago)\b",
                 q):
        return "date"
    if re.search(r"\bhow (far|close|distant)\b|\bdistance\b|\bkilomet", q):
        return "distance"
    if re.search(r"\bhow (many|much)\b|\bnumber of\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose|which (?:group|person|official|minister|spokesman|spokesperson|general|"
                 r"commander|agency|outlet|newspaper))\b", q):
        return "name"
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


class ExtractiveGenerator:
    """Answers by quoting; the same `Answer` shape as the LLM generator."""

    name = "extractive"

    def __init__(self, embedder: BaseEmbedding, aliases: Aliases, min_support: float) -> None:
        self.embedder = embedder
        self.aliases = aliases
        self.min_support = min_support

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """Pick the best supporting sentence(s) and quote them with their citations."""
        ranked = self.rank(question, passages)
        if not ranked or ranked[0].score < self.min_support:
            return Answer(question=question, text=REFUSAL, refused=True, mode=self.name, passages=passages)
        kind = question_kind(question)
        if kind == "date":
            conflict = date_conflict(ranked[0], ranked, question, self.aliases, 0.7 * ranked[0].score)
            if conflict:
                return self._disagreement(question, passages, ranked[0], *conflict)
        chosen = self._choose(ranked)
        parts = [self._render(c, kind, question) for c in chosen]
        citations = [_citation(c) for c in chosen]
        return Answer(question=question, text=" ".join(parts), refused=False, citations=citations,
                      mode=self.name, passages=passages)

    def _disagreement(self, question: str, passages: list[Passage], first: Candidate, first_date: KeyDate,
                      second: Candidate, second_date: KeyDate) -> Answer:
        """Both sides, each cited: outlets disagree more often than any single answer admits."""
        text = (f"The articles disagree. {_who(first)} gives {first_date.describe()} [{first.passage.number}]: "
                f"“{first.text}” {_who(second)} gives {second_date.describe()} [{second.passage.number}]: "
                f"“{second.text}”")
        return Answer(question=question, text=text, refused=False,
                      citations=[_citation(first), _citation(second)], mode=self.name, passages=passages)

    def _render(self, c: Candidate, kind: str | None, question: str) -> str:
        quote = c.text.strip()
        lead = ""
        if kind == "date":
            found = key_date(c, question, self.aliases)
            lead = f"{found.describe()}: " if found else ""
        elif kind in ("distance", "number"):
            key = PATTERNS[kind].search(quote)
            lead = f"{key.group(0).strip()}: " if key else ""
        return f"{lead}“{quote}” [{c.passage.number}]"

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """Extractive answers are ready at once: one delta, then the answer."""
        answer = self.answer(question, passages)
        yield answer.text
        yield answer

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every sentence of the passages, best supported first."""
        spans = _unique_sentences(passages)
        if not spans:
            return []
        q_tokens = set(lexical_tokens(question, self.aliases))
        idf = _idf([set(lexical_tokens(p.text[s:e], self.aliases)) for p, s, e in spans])
        vectors = self.embedder.get_text_embedding_batch([p.text[s:e] for p, s, e in spans])
        q_vec = np.asarray(self.embedder.get_query_embedding(self.aliases.expand(question)))
        kind = question_kind(question)
        focus = self._focus(question)
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

    def _focus(self, question: str) -> str | None:
        """The thing counted in "how many X" / "number of X": a sentence without X cannot answer it."""
        match = re.search(r"\b(?:how many|how much|number of)\s+(.+)", question, re.I)
        tokens = lexical_tokens(match.group(1), self.aliases) if match else []
        return tokens[0] if tokens else None

    def _focus_penalty(self, focus: str | None, text: str) -> float:
        return 0.0 if focus is None or focus in lexical_tokens(text, self.aliases) else -0.1

    def _choose(self, ranked: list[Candidate]) -> list[Candidate]:
        # The best sentence, plus the best one from another article when it is nearly as good: news
        # answers are worth confirming (or contradicting) from a second outlet.
        best = ranked[0]
        chosen = [best]
        for cand in ranked[1:]:
            if cand.passage.doc_id != best.passage.doc_id and cand.score >= max(self.min_support,
                                                                                 0.85 * best.score):
                chosen.append(cand)
                break
        return chosen


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
    # A "who"/"how many"/"how far" question is not answered by a sentence without a name/number/distance.
    return 0.12 if matches else -0.2


def _who(c: Candidate) -> str:
    meta = c.passage.meta
    name = meta.get("outlet") or meta.get("title") or c.passage.doc_id
    return f"{name} ({c.passage.doc_id})" if name != c.passage.doc_id else c.passage.doc_id


def _citation(c: Candidate) -> Citation:
    meta = c.passage.meta
    return Citation(marker=c.passage.number, doc_id=c.passage.doc_id, source=str(meta.get("source", "")),
                    title=meta.get("title"), outlet=meta.get("outlet"), published=meta.get("published"),
                    quote=c.text, start=c.passage.start + c.start, end=c.passage.start + c.end,
                    passage=c.passage.text, passage_start=c.passage.start)
