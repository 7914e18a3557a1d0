"""Date anchoring on the seed articles and on small sentences (pure logic, no I/O beyond the seeds)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.ingest.load import load_path
from rag.models import Article
from rag.text.dates import (
    DateMention,
    format_resolved,
    lede_dateline,
    parse_date_value,
    parse_dateline,
    published_from_text,
    resolve_dates,
)

SEEDS = Path(__file__).parent.parent / "seeds"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {a.doc_id[:3]: a for a in load_path(SEEDS).articles}


def by_expression(mentions: list[DateMention]) -> dict[str, DateMention]:
    return {m.expression: m for m in mentions}


def test_mention_spans_point_into_the_text(seeds: dict[str, Article]) -> None:
    for article in seeds.values():
        for mention in resolve_dates(article.text, article.published):
            assert article.text[mention.start:mention.end] == mention.expression


def test_002_relative_dates_resolve_against_its_dateline(seeds: dict[str, Article]) -> None:
    article = seeds["002"]
    assert article.published == date(2024, 12, 2)
    found = by_expression(resolve_dates(article.text, article.published))
    assert found["today, Monday"].resolved == date(2024, 12, 2)
    assert found["yesterday"].resolved == date(2024, 12, 1)
    assert found["since last Wednesday"].resolved == date(2024, 11, 27)
    assert all(found[e].relative for e in ("today, Monday", "yesterday", "since last Wednesday"))
    assert format_resolved(found["yesterday"]) == "1 December 2024"
    assert (found["2011"].resolved, found["2011"].granularity, found["2011"].relative) == (
        date(2011, 1, 1), "year", False)
    assert "2254" not in found  # "Security Council Resolution 2254" is not a year


def test_000_without_dateline_keeps_dates_yearless(seeds: dict[str, Article]) -> None:
    article = seeds["000"]
    assert article.published is None
    found = by_expression(resolve_dates(article.text, None))
    assert found["November 29"].resolved is None
    assert found["November 29"].month_day == (11, 29)
    assert format_resolved(found["November 29"]) == "29 November"
    later = found["A day later, on November 30"]
    assert (later.resolved, later.month_day, later.relative) == (None, (11, 30), True)
    assert found["December 5"].month_day == (12, 5)
    assert found["Earlier this week"].resolved is None
    assert format_resolved(found["Earlier this week"]) == "Earlier this week"
    assert found["1982"].resolved == date(1982, 1, 1)


def test_000_with_a_published_date_gets_years(seeds: dict[str, Article]) -> None:
    found = by_expression(resolve_dates(seeds["000"].text, date(2024, 12, 6)))
    assert found["November 29"].resolved == date(2024, 11, 29)
    assert found["A day later, on November 30"].resolved == date(2024, 11, 30)
    assert found["December 5"].resolved == date(2024, 12, 5)
    week = found["Earlier this week"]
    assert (week.resolved, week.granularity) == (date(2024, 12, 2), "week")
    assert format_resolved(week) == "the week of 2 December 2024"


def test_003_and_004_explicit_and_relative(seeds: dict[str, Article]) -> None:
    found = by_expression(resolve_dates(seeds["003"].text, date(2024, 12, 5)))
    assert (found["March 2020"].resolved, found["March 2020"].granularity) == (date(2020, 3, 1), "month")
    assert format_resolved(found["March 2020"]) == "March 2020"
    assert found["last week"].resolved == date(2024, 11, 25)
    assert found["since last week"].granularity == "week"
    assert found["On Wednesday"].resolved == date(2024, 12, 4)
    found = by_expression(resolve_dates(seeds["004"].text, date(2024, 12, 3)))
    assert found["today"].resolved == date(2024, 12, 3)
    assert found["on Tuesday"].resolved == date(2024, 12, 3)  # published on a Tuesday: that same day
    assert found["overnight"].resolved == date(2024, 12, 3)


@pytest.mark.parametrize(("sentence", "expression", "expected"), [
    ("Published on a Monday: last Monday they met.", "last Monday", date(2024, 11, 25)),
    ("They meet next Friday.", "next Friday", date(2024, 12, 6)),
    ("Talks resumed 5 December.", "5 December", date(2024, 12, 5)),
    ("The truce began Monday, 02 December 2024.", "Monday, 02 December 2024", date(2024, 12, 2)),
    ("Fighting started on December 30.", "December 30", date(2022, 12, 30)),
    ("It ended three days ago.", "three days ago", date(2024, 11, 29)),
    ("It began on 2024-11-27.", "2024-11-27", date(2024, 11, 27)),
    ("Shelling resumed tonight.", "tonight", date(2024, 12, 2)),
    ("Aid arrived the next day.", "the next day", None),
])
def test_sentence_rules(sentence: str, expression: str, expected: date | None) -> None:
    published = date(2023, 1, 2) if "December 30" in sentence else date(2024, 12, 2)
    found = by_expression(resolve_dates(sentence, published))
    assert found[expression].resolved == expected


def test_offsets_count_from_the_previous_date() -> None:
    text = "The offensive began on November 27. Two days later rebels took Aleppo. The previous day was calm."
    found = by_expression(resolve_dates(text, date(2024, 12, 2)))
    assert found["Two days later"].resolved == date(2024, 11, 29)
    assert found["The previous day"].resolved == date(2024, 11, 28)


def test_verbs_and_counts_are_not_dates() -> None:
    text = "Officials may march on, and 2000 fighters may return; the No. 2254 resolution stands."
    assert resolve_dates(text, date(2024, 12, 2)) == []


def test_last_month_and_year() -> None:
    found = by_expression(resolve_dates("Prices rose last month and this year.", date(2024, 1, 15)))
    assert (found["last month"].resolved, found["last month"].granularity) == (date(2023, 12, 1), "month")
    assert format_resolved(found["this year"]) == "2024"


def test_datelines_and_metadata_values() -> None:
    assert parse_dateline("Monday, 02 December 2024") == date(2024, 12, 2)
    assert parse_dateline("Published: December 3, 2024 | 10:15 GMT") == date(2024, 12, 3)
    assert parse_dateline("2 décembre 2024") == date(2024, 12, 2)
    assert parse_dateline("02/12/2024") is None  # day/month order unknown
    assert parse_dateline("Syrian army counterattacks rebels near Hama") is None
    assert published_from_text((SEEDS / "002_8feaf9a31dabf8c4.txt").read_text(encoding="utf-8")) == date(
        2024, 12, 2)
    assert published_from_text((SEEDS / "000_0acf8dbdca9c3ed5.txt").read_text(encoding="utf-8")) is None
    assert parse_date_value("2024-12-03T08:00:00Z") == date(2024, 12, 3)
    assert parse_date_value("5 December 2024") == date(2024, 12, 5)
    assert parse_date_value("not a date") is None


@pytest.mark.parametrize(("line", "expected"), [
    ("SPRINGFIELD, March 3, 2024 — The bridge repair cost $48 million, the city said.", date(2024, 3, 3)),
    ("NEW YORK, March 3, 2024 /PRNewswire/ -- Acme Corp. today announced a merger.", date(2024, 3, 3)),
    ("CAPE CANAVERAL, Fla., Jan. 5, 2023 (AP) — A rocket lifted off on Thursday.", date(2023, 1, 5)),
    ("GENEVA, 14 February 2025 - The talks resumed on Friday, diplomats said.", date(2025, 2, 14)),
    ("WASHINGTON — The House voted on Wednesday.", None),  # no date in it
    ("LONDON, Dec 2 (Reuters) - Shares fell on Monday.", None),  # no year: not guessed
    ("March 3, 2024 — a day the city will remember, the mayor said.", None),  # no place: a sentence
])
def test_a_lede_that_opens_with_a_dateline(line: str, expected: date | None) -> None:
    assert lede_dateline(line) == expected


def test_a_plain_text_article_is_dated_by_its_lede(tmp_path: Path) -> None:
    path = tmp_path / "bridge.txt"
    path.write_text("Bridge reopens\n\nSPRINGFIELD, March 3, 2024 — The bridge repair cost $48 million, the city "
                    "said on Monday. Work took two years.\n", encoding="utf-8")
    (article,) = load_path(path).articles
    assert article.published == date(2024, 3, 3)
    assert article.text.startswith("Bridge reopens\n\nSPRINGFIELD, March 3, 2024 — The bridge")  # text kept whole
