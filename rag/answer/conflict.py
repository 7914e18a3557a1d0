"""Dates read against each article's dateline, and disagreements between outlets about them.

`key_date` picks, in a quoted sentence, the date expression that belongs to the event the question asks
about (the one nearest the question's words), resolved against the article's publication date.
`date_conflict` finds another article whose sentence puts the same event on a different day. Syndicated
copies of one story are one source (`Passage.source_key`): they can never be two sides of a disagreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from rag.models import Passage
from rag.retrieve.rerank import asks_since, event_words, since_date
from rag.text.dates import DateMention, format_resolved, is_comparison_point, resolve_dates
from rag.text.lexicon import Lexicon
from rag.text.numbers import count_distance, number_value
from rag.text.tokens import lexical_tokens


class Sentence(Protocol):
    """A quoted sentence of a passage (the extractive answerer's candidates)."""

    passage: Passage
    start: int
    end: int
    score: float

    @property
    def text(self) -> str: ...


@dataclass
class KeyDate:
    """The date a sentence gives for the asked-about event."""

    mention: DateMention
    published: date | None

    @property
    def day(self) -> tuple[int, int] | None:
        """(month, day) when known, so year-less mentions compare with dated ones."""
        if self.mention.granularity != "day":
            return None
        if self.mention.resolved:
            return (self.mention.resolved.month, self.mention.resolved.day)
        return self.mention.month_day

    def describe(self) -> str:
        """"1 December 2024 (“yesterday” in the article dated 2 December 2024)" or just "November 30"."""
        m = self.mention
        if m.relative and m.resolved and self.published:
            return (f"{format_resolved(m)} (“{m.expression}” in the article dated "
                    f"{self.published.day} {self.published:%B %Y})")
        if m.month_day and not m.resolved:  # "A day later, on November 30" in an undated article
            return f"{date(2000, *m.month_day):%B} {m.month_day[1]}"
        return m.expression if not m.resolved or m.granularity == "year" else _plain(m)


def _plain(m: DateMention) -> str:
    # Keep the article's own wording when it names the day ("December 5"), so quotes and answers agree.
    return m.expression if re.search(r"\d", m.expression) else format_resolved(m)


def published(passage: Passage) -> date | None:
    """The passage's article date, from chunk metadata."""
    value = passage.meta.get("published")
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def key_date(sentence: Sentence, question: str, lexicon: Lexicon) -> KeyDate | None:
    """The date mention in the sentence nearest the question's words (day-precise mentions first)."""
    pub = published(sentence.passage)
    mentions = [m for m in resolve_dates(sentence.text, pub) if m.granularity != "year" or m.resolved]
    if asks_since(question):  # "the first time since:" asks for the date compared with itself
        mentions = [m for m in mentions if since_date(sentence.text, m.start)]
        # "since at least:" is answered by "since at least 1950", not by "since 1961" in the same sentence
        qualified = [m for m in mentions if re.search(r"\bat\s+least\s+(?:the\s+)?$", sentence.text[:m.start])]
        if qualified and re.search(r"\bat\s+least\s*:?\s*$", question):
            mentions = qualified
    else:
        mentions = [m for m in mentions if not is_comparison_point(sentence.text, m.start)]
    if not mentions:
        return None
    q_tokens = set(lexical_tokens(question, lexicon))
    events = event_words(question, lexicon)
    text = sentence.text
    # A date belongs to the clause it sits in: "attack on Aleppo since last Wednesday, completely taking
    # control of the city yesterday" dates the attack and the taking separately.
    bounds = [0] + [m.end() for m in re.finditer(r"[,;:()—]", text)] + [len(text) + 1]

    def relevance(m: DateMention) -> float:
        i = max(j for j, b in enumerate(bounds) if b <= m.start)
        clause = text[bounds[i]:bounds[min(i + 1, len(bounds) - 1)]]
        hits = q_tokens & set(lexical_tokens(clause, lexicon))
        # A date dates an event: the question's verb ("take", "leave", "begin") outweighs a place name.
        weight = sum(1.5 if t in events else 1.0 for t in hits)
        return weight + (0.5 if m.granularity == "day" else 0.0)

    # Within one clause, the date nearest an event word ("launched last week marks the first clash since
    # March 2020 when a ceasefire was established": March 2020 for the ceasefire).
    spots = [w.start() for w in re.finditer(r"[\w'-]+", text) if set(lexical_tokens(w.group(0), lexicon)) & events]

    def nearness(m: DateMention) -> float:
        return -min((abs(m.start - s) for s in spots), default=0)

    return KeyDate(max(mentions, key=lambda m: (relevance(m), nearness(m))), pub)


def date_conflict(best: Sentence, ranked: list[Sentence], question: str, lexicon: Lexicon,
                  min_score: float) -> tuple[KeyDate, Sentence, KeyDate] | None:
    """Another article's sentence, nearly as relevant, that dates the event differently.

    Among the other articles' dated sentences, one that uses the question's event word ("take control" ~
    "came under the control") beats one that merely mentions the same places.
    """
    mine = key_date(best, question, lexicon)
    if mine is None or mine.day is None:
        return None
    events = event_words(question, lexicon)
    rivals = []
    for other in ranked[1:]:
        if other.passage.source_key == best.passage.source_key:
            continue
        has_event = bool(events & set(lexical_tokens(other.text, lexicon)))
        # A sentence about the same event may word the rest differently, so it needs less overall support.
        if other.score < (0.7 if has_event else 1.0) * min_score:
            continue
        theirs = key_date(other, question, lexicon)
        if theirs is not None and theirs.day is not None and theirs.day != mine.day:
            rivals.append((has_event, other.score, other, theirs))
    if not rivals:
        return None
    _, _, other, theirs = max(rivals, key=lambda r: (r[0], r[1]))
    return mine, other, theirs


@dataclass
class KeyNumber:
    """The count or distance a sentence gives for what the question asks about."""

    text: str  # as written: "20", "five kilometers", "$48 million"
    value: float

    def describe(self) -> str:
        """The number as the article wrote it."""
        return self.text


def key_number(sentence: Sentence, pattern: re.Pattern[str], focus: str | None, lexicon: Lexicon) -> KeyNumber | None:
    """The number nearest the counted thing ("20 people": focus "people"), or the first one."""
    text = sentence.text
    matches = [m for m in pattern.finditer(text) if number_value(m.group(0)) is not None]
    if not matches:
        return None
    if focus:
        spots = [m.start() for m in re.finditer(r"\w+", text) if lexical_tokens(m.group(0), lexicon) == [focus]]
        if not spots:
            return None
        match = min(matches, key=lambda m: count_distance(m, spots))
    else:
        match = matches[0]
    value = number_value(match.group(0))
    return KeyNumber(match.group(0).strip(), value) if value is not None else None


def number_conflict(best: Sentence, ranked: list[Sentence], pattern: re.Pattern[str], focus: str | None,
                    lexicon: Lexicon, min_score: float, max_ratio: float = 0.0
                    ) -> tuple[KeyNumber, Sentence, KeyNumber] | None:
    """Another article's sentence, nearly as relevant, that gives a different count for the same thing.

    Only sentences that name the counted thing ("people" in "how many people") take part, so two different
    quantities that merely share a sentence's topic are not reported as a disagreement.
    """
    mine = key_number(best, pattern, focus, lexicon)
    if mine is None or focus is None:
        return None
    for other in ranked[1:]:
        if other.passage.source_key == best.passage.source_key or other.score < min_score:
            continue
        theirs = key_number(other, pattern, focus, lexicon)
        if theirs is not None and theirs.value != mine.value and _comparable(mine.value, theirs.value, max_ratio):
            return mine, other, theirs
    return None


def _comparable(a: float, b: float, max_ratio: float) -> bool:
    """Whether two counts may be two reports of one quantity: outlets round, and tolls grow as a story
    unfolds, but "7 million miles" and "15,000 miles" are two different distances (`max_ratio` 0: any)."""
    if not max_ratio:
        return True
    low, high = sorted((abs(a), abs(b)))
    return low > 0 and high / low <= max_ratio
