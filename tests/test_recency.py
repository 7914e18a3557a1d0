"""Recency in the extractive answerer: an old article's sentence yields to this week's reporting."""

from __future__ import annotations

from rag.answer.extractive import ExtractiveGenerator
from rag.models import Chunk, Passage
from rag.retrieve.rerank import Candidate
from rag.settings import AnswerConfig


class _Scorer:
    """Just what the generator reads from a scorer; no embedder is needed for recency."""

    def __init__(self, config: AnswerConfig) -> None:
        self.config = config
        self.lexicon = None


def _sentence(text: str, published: str | None, score: float) -> Candidate:
    meta = {"doc_id": text[:8]} | ({"published": published, "published_day": int(published.replace("-", ""))}
                                   if published else {})
    passage = Passage(node=Chunk(text=text, metadata=meta), score=1.0, number=1)
    return Candidate(passage, 0, len(text), score, 0.5, 0.5)


def _order(config: AnswerConfig, ranked: list[Candidate]) -> list[str]:
    generator = ExtractiveGenerator(_Scorer(config))  # type: ignore[arg-type]
    return [c.text for c in generator._by_recency(ranked)]


OLD = _sentence("A magnitude-7.8 earthquake shook Ecuador.", "2016-04-17", 0.70)
NEW = _sentence("A magnitude 7.0 earthquake shook the Philippines.", "2022-07-27", 0.65)
UNDATED = _sentence("An undated note on the earthquake.", None, 0.66)


def test_an_article_years_older_than_the_newest_loses_the_full_penalty() -> None:
    assert _order(AnswerConfig(), [OLD, NEW]) == [NEW.text, OLD.text]


def test_recent_and_undated_articles_keep_their_scores() -> None:
    week_old = _sentence("A week-old report on the earthquake.", "2022-07-20", 0.70)
    ranked = [week_old, UNDATED, NEW]
    # 7 of 30 days old: 0.7 - 0.1 x 7/30 = 0.677, still ahead of 0.66 and 0.65.
    assert _order(AnswerConfig(), ranked) == [week_old.text, UNDATED.text, NEW.text]


def test_no_penalty_leaves_the_order_alone() -> None:
    assert _order(AnswerConfig(recency_penalty=0.0), [OLD, NEW]) == [OLD.text, NEW.text]


def test_a_question_naming_its_period_favours_sentences_from_that_window() -> None:
    """"this week", asked on 28 July 2022: a dated sentence from outside the window loses up to
    window_penalty (by how far outside it is); undated ones and questions without a period are left alone."""
    from datetime import date

    from rag.retrieve.timeframe import timeframe

    generator = ExtractiveGenerator(_Scorer(AnswerConfig()))  # type: ignore[arg-type]
    older = _sentence("A magnitude-7.1 earthquake shook Peru last month.", "2022-06-10", 0.68)
    in_week = _sentence("A magnitude 7.0 earthquake shook the Philippines.", "2022-07-27", 0.62)
    frame = timeframe("Which country was shaken by an earthquake this week?", date(2022, 7, 28))
    assert frame.time_bound
    order = [c.text for c in generator._by_window([older, UNDATED, in_week], frame)]
    assert order == [UNDATED.text, in_week.text, older.text]
    open_frame = timeframe("Which country was shaken by an earthquake?", date(2022, 7, 28))
    assert generator._by_window([older, in_week], open_frame) == [older, in_week]
    off = ExtractiveGenerator(_Scorer(AnswerConfig(window_penalty=0.0)))  # type: ignore[arg-type]
    assert off._by_window([older, in_week], frame) == [older, in_week]
