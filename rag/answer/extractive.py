"""The offline answerer: the short answer first, then the quoted sentence(s) it rests on, cited; or refuse.

Sentences are scored by `rag.retrieve.rerank.SentenceScorer`; below `AnswerConfig.min_support` the answer is
"The articles don't say". The short answer (a date, a figure, a name, a place) is read from the best
sentence (`rag.answer.short`); dates are read against the article's dateline, and two articles that date or
count the event differently are both quoted (`rag.answer.conflict`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from rag.answer.candidates import (
    AnswerCandidate,
    add_peoples,
    lead_with_winner,
    mark_apposition,
    mark_known_places,
    name_candidates,
    people_places,
    rescore,
    weigh,
)
from rag.answer.citations import REFUSAL
from rag.answer.conflict import KeyDate, KeyNumber, date_conflict, number_conflict, published
from rag.answer.decompose import sub_questions
from rag.answer.short import named_referent, short_answer
from rag.models import AlsoPublished, Answer, Citation, Passage
from rag.retrieve.rerank import (
    FIGURES,
    PATTERNS,
    Candidate,
    SentenceScorer,
    answer_type,
    asking_part,
    place_noun,
    question_kind,
)
from rag.retrieve.timeframe import TimeFrame, published_day, time_fit
from rag.text.places import Gazetteer
from rag.text.sentences import sentence_spans
from rag.text.tokens import STOPWORDS, lexical_tokens

_WHO = re.compile(r"\b(?:who|whom)\b", re.I)
_DESCRIPTION = re.compile(r"\b(?:the|this|that)\s+((?:[a-z][\w-]*\s+){0,3}[a-z][\w-]*)")  # "the social media app"


class ExtractiveGenerator:
    """Answers by quoting; the same `Answer` shape as the LLM generator."""

    name = "extractive"

    def __init__(self, scorer: SentenceScorer, gazetteer: Gazetteer | None = None) -> None:
        """`gazetteer`: place names by kind, for "which country/state/city" (None: the articles' words only)."""
        self.scorer = scorer
        self.gazetteer = gazetteer
        self.lexicon = scorer.lexicon
        self.config = scorer.config
        self.min_support = scorer.config.min_support

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every sentence of the passages, best supported first."""
        return self.scorer.rank(question, passages)

    def answer(self, question: str, passages: list[Passage], frame: TimeFrame | None = None) -> Answer:
        """Pick the best supporting sentence(s) and quote them with their citations; with a time-bound
        `frame` ("this week"), sentences of articles from outside its window yield (`_by_window`)."""
        parts = sub_questions(question)
        if len(parts) > 1:
            return self._answer_parts(question, parts, passages)
        ranked = self.rank(question, passages)
        if not ranked or ranked[0].score < self.min_support:
            return Answer(question=question, text=REFUSAL, kind="refusal", mode=self.name, passages=passages)
        ranked = self._by_window(self._by_recency(ranked), frame)
        kind = question_kind(question)
        rival_floor = self.config.conflict_share * ranked[0].score
        if kind == "date":
            conflict = date_conflict(ranked[0], ranked, question, self.lexicon, rival_floor)
            if conflict:
                return self._disagreement(question, passages, ranked[0], *conflict)
        if kind in FIGURES:
            counted = number_conflict(ranked[0], ranked, PATTERNS[kind], self.scorer.focus(question),
                                      self.lexicon, rival_floor, self.config.conflict_ratio)
            if counted:
                return self._disagreement(question, passages, ranked[0], *counted)
        winner = None
        if kind == "name":
            ranked, winner = self._by_redundancy(question, ranked)
        elif kind == "place" and (noun := place_noun(question)):
            # "In which state ...?": the names vote as for "which state ...?", but only to say the short
            # answer; the place patterns have already chosen the sentence.
            _, winner = self._by_redundancy(question, ranked, noun)
        chosen = self._choose(ranked)
        short = self._short(chosen[0], kind, question, winner)
        beside = self._neighbours(chosen[0], ranked, kind, question)
        shown = chosen[:1] + beside + chosen[1:]
        # The short answer leads; the sentences beside the best one follow it unled, as context.
        parts = [self._render(c, kind, question, winner, short) if c is chosen[0] else
                 _quoted(c) if c in beside else self._render(c, kind, question, winner) for c in shown]
        citations = [_citation(c) for c in shown]
        return Answer(question=question, text=" ".join(parts), kind="answer", citations=citations,
                      mode=self.name, passages=passages, short=short)

    def _by_recency(self, ranked: list[Candidate]) -> list[Candidate]:
        """News is asked about while it is news: a sentence of an article published well before the newest
        retrieved one loses up to `recency_penalty` (full at `recency_days` older); undated articles are
        left alone. Applied after the refusal check, so it never turns an answer into a refusal."""
        c = self.config
        if not c.recency_penalty:
            return ranked
        days = {id(cand): published(cand.passage) for cand in ranked}
        newest = max((d for d in days.values() if d is not None), default=None)
        if newest is None:
            return ranked
        aged = [replace(cand, score=cand.score - c.recency_penalty * min(1.0, (newest - d).days / c.recency_days))
                if (d := days[id(cand)]) is not None else cand for cand in ranked]
        return sorted(aged, key=lambda cand: -cand.score)

    def _by_window(self, ranked: list[Candidate], frame: TimeFrame | None) -> list[Candidate]:
        """A question that names its period ("this week", "this year's", "the latest") is about that period:
        a sentence of a dated article from outside the window loses up to `window_penalty`, in proportion to
        how far outside it is (`time_fit`); undated articles are left alone. The retriever has already
        ranked window passages up; this decides between their sentences. After the refusal check too."""
        weight = self.config.window_penalty
        if frame is None or not frame.time_bound or frame.window is None or not weight:
            return ranked
        aged = [replace(c, score=c.score - weight * (1.0 - time_fit(c.passage.meta, frame)))
                if published_day(c.passage.meta) else c for c in ranked]
        return sorted(aged, key=lambda c: -c.score)

    def _neighbours(self, best: Candidate, ranked: list[Candidate], kind: str | None,
                         question: str) -> list[Candidate]:
        """The sentences right before and after the best one that hold a name, when the best one speaks of
        the kind of thing asked for only by description: "bar public employees from using the app" for
        "which social media app" - the story names the app a sentence away ("Nebraska banned TikTok ...").
        Each is quoted and cited on its own; the answer's short answer is still the best sentence's."""
        asked_for = answer_type(question) if kind == "name" else None
        if not asked_for or not self._describes(best.text, asked_for):
            return []
        spans = sentence_spans(best.passage.text)
        i = next((j for j, (s, _) in enumerate(spans) if s == best.start), None)
        if i is None:
            return []
        found = (next((o for o in ranked if o.passage is best.passage and o.start == s), None)
                 for s, _ in spans[max(0, i - 1):i] + spans[i + 1:i + 2])
        return [c for c in found if c is not None and self._short(c, kind, question)]

    def _describes(self, sentence: str, asked_for: str) -> bool:
        """Whether `sentence` speaks of the kind asked for by description: "the app" or "the social media
        app" for "social media app", or a word as near its head noun as `describe_similarity` ("the
        publication" for "which paper") within the noun phrase after the/this/that."""
        head = asked_for.split()[-1].lower()
        words = {w.lower() for m in _DESCRIPTION.finditer(sentence) for w in m.group(1).split()
                 if w.lower() not in STOPWORDS}
        if head in words:
            return True
        if not words or not self.config.describe_similarity:
            return False
        head_vec, *vecs = self.scorer.vectors([head, *sorted(words)])
        return max(float(v @ head_vec) for v in vecs) >= self.config.describe_similarity

    def _short(self, c: Candidate, kind: str | None, question: str,
               winner: AnswerCandidate | None = None) -> str | None:
        if winner is not None and winner.held_by(set(lexical_tokens(c.text, self.lexicon))):
            return winner.label
        return short_answer(c, kind, question, self.lexicon, self.scorer.focus(question))

    def _by_redundancy(self, question: str, ranked: list[Candidate], asked_for: str | None = None
                       ) -> tuple[list[Candidate], AnswerCandidate | None]:
        """The best sentences re-ordered by the support of the answer each holds (`rag.answer.candidates`);
        `asked_for`: the kind of thing asked for, where the caller knows it better than `answer_type`."""
        asked_for = asked_for or answer_type(question)
        answers = name_candidates(question, ranked, self.lexicon, self.config)
        if not answers:
            return ranked, None
        if asked_for is None and _WHO.search(asking_part(question)):
            asked_for = self.config.who_type or None  # "who" asks for a person more often than not
        if asked_for:  # "which currency": a currency's name sits nearer the word than a central bank's
            places = people_places(question, ranked, self.lexicon, self.config)
            if places and self.config.people_fit:  # "which country's lawmakers": "Iranian lawmakers" says Iran
                answers = self._with_peoples(asked_for, answers, places, ranked)
            # A name is the answer as its fullest form ("JetBlue Airways" is the airline) unless its plainest
            # fits clearly better: "Bahamas" is the country, "Royal Bahamas Police Force" another thing.
            forms = sorted({f for a in answers for f in (a.name, a.plain_name)})
            kind_vec, *vecs = self.scorer.vectors([asked_for, *forms])
            fit = {f: float(v @ kind_vec) for f, v in zip(forms, vecs, strict=True)}
            for answer in answers:
                plainer = fit[answer.plain_name] - fit[answer.name] > self.config.plain_name_margin
                answer.shown = answer.plain_name if plainer else answer.name
                answer.fit = fit[answer.name]
            mark_apposition(answers, ranked, asked_for, self.config)
            if self.gazetteer is not None:
                mark_known_places(answers, asked_for, self.gazetteer)
        answers = weigh(answers, self.config)
        rescored = lead_with_winner(rescore(ranked, answers, self.lexicon, self.config), answers,
                                    self.config.winner_margin)
        head = [c for _, c, _ in rescored]
        return head + ranked[len(head):], rescored[0][2]

    def _with_peoples(self, asked_for: str, answers: list[AnswerCandidate], places: dict[str, set[str]],
                      ranked: list[Candidate]) -> list[AnswerCandidate]:
        """`answers` with the places that people words of the pool stand for (`add_peoples`): a place that
        fits the asked-for noun by `people_fit`, or one whose people word is itself a candidate and fits
        it less ("Cuban" for "which nation": the articles' Cuba says it better). A people word that now
        stands for its place is no longer an answer of its own."""
        keys = {a.key for a in answers}
        word_keys = {w: frozenset(lexical_tokens(w, self.lexicon)) for ws in places.values() for w in ws}
        rivals = sorted({w for w, k in word_keys.items() if k in keys})
        kind_vec, *vecs = self.scorer.vectors([asked_for, *places, *rivals])
        fit = {t: float(v @ kind_vec) for t, v in zip([*places, *rivals], vecs, strict=True)}
        fitting = {p: ws for p, ws in places.items()
                   if fit[p] >= self.config.people_fit or any(w in fit and fit[p] > fit[w] for w in ws)}
        dropped = {word_keys[w] for ws in fitting.values() for w in ws}
        kept = [a for a in answers if a.key not in dropped]
        return add_peoples(kept, fitting, ranked, self.lexicon, self.config)

    def _answer_parts(self, question: str, parts: list[str], passages: list[Passage]) -> Answer:
        """One quote per part of a compound question ("X, and Y?", "A or B?"), each cited."""
        rankings = [self.rank(part, passages) for part in parts]
        chosen = self._pair(parts, rankings) if len(parts) == 2 else self._greedy(parts, rankings)
        if not chosen:
            return Answer(question=question, text=REFUSAL, kind="refusal", mode=self.name, passages=passages)
        text = " ".join(self._render(c, question_kind(part), part) for c, part in chosen)
        shorts = [self._short(c, question_kind(part), part) for c, part in chosen]
        short = "; ".join(s for s in shorts if s) or None
        citations = [_citation(c) for c, _ in chosen]
        return Answer(question=question, text=text, kind="answer", citations=citations, mode=self.name,
                      passages=passages, short=short)

    def _pair(self, parts: list[str], rankings: list[list[Candidate]]) -> list[tuple[Candidate, str]]:
        """The best two distinct sentences for two parts, jointly: a sentence that answers the second part
        better must not be spent on the first. Two outlets get a small edge, as in `_choose`."""
        floor = self.config.part_floor * self.min_support
        best: tuple[float, Candidate, Candidate] | None = None
        for a in rankings[0][:10]:
            for b in rankings[1][:10]:
                if a.text == b.text or min(a.score, b.score) < floor or max(a.score, b.score) < self.min_support:
                    continue
                two_outlets = a.passage.doc_id != b.passage.doc_id
                value = a.score + b.score + (self.config.pair_doc_bonus if two_outlets else 0.0)
                if best is None or value > best[0]:
                    best = (value, a, b)
        if best is not None:
            return [(best[1], parts[0]), (best[2], parts[1])]
        return self._greedy(parts, rankings)[:1]

    def _greedy(self, parts: list[str], rankings: list[list[Candidate]]) -> list[tuple[Candidate, str]]:
        chosen: list[tuple[Candidate, str]] = []
        for part, ranked in zip(parts, rankings, strict=True):
            ranked = [c for c in ranked if all(c.text != done.text for done, _ in chosen)]
            if ranked and ranked[0].score >= (self.config.part_floor if chosen else 1.0) * self.min_support:
                chosen.append((ranked[0], part))
        return chosen

    def _disagreement(self, question: str, passages: list[Passage], first: Candidate,
                      first_date: KeyDate | KeyNumber, second: Candidate,
                      second_date: KeyDate | KeyNumber) -> Answer:
        """Both sides, each cited: outlets disagree more often than any single answer admits."""
        text = (f"Sources disagree: {_who(first)} gives {first_date.describe()} [{first.passage.number}]: "
                f"“{first.text}” {_upper_first(_who(second, other=True))} gives {second_date.describe()} "
                f"[{second.passage.number}]: “{second.text}”")
        return Answer(question=question, text=text, kind="disagreement",
                      citations=[_citation(first), _citation(second)], mode=self.name, passages=passages,
                      short=f"{first_date.describe()} or {second_date.describe()}")

    def _render(self, c: Candidate, kind: str | None, question: str, winner: AnswerCandidate | None = None,
                lead: str | None = None) -> str:
        """"<short answer>: “<quote>” [n]"; a quote that says only "he" or "the retailer" is led by the
        name it stands for, so the reader never has to guess who. `lead`: the short answer, found already."""
        quote = c.text.strip()
        lead = lead or self._short(c, kind, question, winner) or named_referent(quote, c.previous_sentence())
        return f"{lead}: “{quote}” [{c.passage.number}]" if lead else f"“{quote}” [{c.passage.number}]"

    def stream(self, question: str, passages: list[Passage],
               frame: TimeFrame | None = None) -> Iterator[str | Answer]:
        """Extractive answers are ready at once: one delta, then the answer."""
        answer = self.answer(question, passages, frame)
        yield answer.text
        yield answer

    def _choose(self, ranked: list[Candidate]) -> list[Candidate]:
        # The best sentence, plus the best one from another article when it is nearly as good: news
        # answers are worth confirming (or contradicting) from a second outlet.
        best = ranked[0]
        chosen = [best]
        floor = max(self.min_support, self.config.second_source * best.score)
        for cand in ranked[1:]:
            if cand.passage.doc_id != best.passage.doc_id and cand.score >= floor:
                chosen.append(cand)
                break
        return chosen


def _quoted(c: Candidate) -> str:
    return f"“{c.text.strip()}” [{c.passage.number}]"


def _who(c: Candidate, other: bool = False) -> str:
    # Outlet or title, not the file name: the marker already points at the file, and a reader (or the
    # citation checker) should not have to parse hex ids inside a sentence.
    meta = c.passage.meta
    name = meta.get("outlet") or meta.get("title")
    if name:
        return str(name)
    return "another article" if other else "one article"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _citation(c: Candidate) -> Citation:
    meta = c.passage.meta
    return Citation(marker=c.passage.number, doc_id=c.passage.doc_id, source=str(meta.get("source", "")),
                    title=meta.get("title"), outlet=meta.get("outlet"), published=meta.get("published"),
                    quote=c.text, start=c.passage.start + c.start, end=c.passage.start + c.end,
                    passage=c.passage.text, passage_start=c.passage.start,
                    also_published=AlsoPublished.from_meta(meta))
