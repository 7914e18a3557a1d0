"""Questions asked "as of" a date: which articles are eligible, and which time window a question means.

Two rules, kept apart because they differ in force:

- **Eligibility (hard):** an article published after `as_of` did not exist yet when the question was
  asked, so it is never retrieved or cited. Undated articles stay eligible (we cannot tell). Chunks carry
  ``published_day`` (int YYYYMMDD, 0 when undated; `rag.models.day_number`): the lexical side filters in
  SQL (`max_day`), the dense side keeps the `eligible` nodes of an over-fetched Chroma query.
- **Window (soft):** relative words ("this week", "recently", "on Sunday", "last month") are read against
  `as_of` (`parse_window`) and favour passages published in that window (`time_fit`); a ranking
  preference, never a filter, because a story can be reported days later.

Data shapes:
    TimeFrame(as_of=date(2023, 1, 6), window=Window(date(2022, 12, 31), date(2023, 1, 6), "this week"))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rag.errors import RagError
from rag.models import day_number
from rag.text.dates import WEEKDAYS
from rag.text.numbers import NUMBER_WORD, NUMBER_WORDS

DAY_KEY = "published_day"  # chunk metadata: int YYYYMMDD, 0 when the article has no known date


@dataclass(frozen=True)
class Window:
    """The dates a question's relative words point at, inclusive, and the words that set them."""

    start: date
    end: date
    words: str

    def days(self) -> int:
        """Length of the window in days (at least 1)."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class TimeFrame:
    """When a question is asked, and the window its words point at (None: no relative time words)."""

    as_of: date
    window: Window | None = None

    @property
    def time_bound(self) -> bool:
        """True when the question's words tie it to a period (so dates should steer the ranking)."""
        return self.window is not None


def _clip(start: date, end: date, as_of: date, words: str) -> Window:
    # Nothing after as_of exists yet, so no window reaches past it.
    return Window(min(start, as_of), min(end, as_of), words)


def _month_start(day: date) -> date:
    return day.replace(day=1)


# (pattern, window as a function of as_of). Order matters: the first match wins, so the narrower
# phrases ("last week") come before the words they contain ("week").
_WEEKDAY = re.compile(rf"\b(?:on |last |this past )?({'|'.join(WEEKDAYS)})(?:'s|’s)?\b", re.IGNORECASE)
_LAST_N = re.compile(rf"\b(?:last|past|previous)\s+(\d{{1,3}}|{NUMBER_WORD})\s+(day|week|month)s?\b",
                     re.IGNORECASE)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}


def _rules() -> list[tuple[re.Pattern[str], Any]]:
    def fixed(days_back: int, days_span: int) -> Any:
        return lambda d: (d - timedelta(days=days_back + days_span - 1), d - timedelta(days=days_back))

    def last_month(d: date) -> tuple[date, date]:
        end = _month_start(d) - timedelta(days=1)
        return _month_start(end), end

    return [
        (re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I), fixed(0, 1)),
        (re.compile(r"\byesterday\b", re.I), fixed(1, 1)),
        (re.compile(r"\b(?:last|past) weekend\b|\bthis weekend\b", re.I), fixed(0, 7)),
        (re.compile(r"\blast week\b", re.I), fixed(7, 7)),
        (re.compile(r"\b(?:this|past) week\b|\bthis week's\b|\bthis week’s\b", re.I), fixed(0, 7)),
        (re.compile(r"\blast month\b", re.I), last_month),
        (re.compile(r"\bthis month\b", re.I), lambda d: (_month_start(d), d)),
        (re.compile(r"\blast year\b", re.I), lambda d: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31))),
        (re.compile(r"\bthis year\b", re.I), lambda d: (date(d.year, 1, 1), d)),
        (re.compile(r"\b(?:recent|recently|currently|current|latest|now|newly)\b", re.I), fixed(0, 30)),
    ]


_RULES = _rules()


def parse_window(question: str, as_of: date) -> Window | None:
    """The window the question's relative time words point at, read against `as_of`; None if none.

    "on Sunday" (or "Sunday's") means the latest Sunday on or before as_of, and the two days after it,
    when reports of it appear; "this week" the 7 days up to as_of; "recently" the 30 days up to it.
    """
    match = _LAST_N.search(question)
    if match:
        count = int(match[1]) if match[1].isdigit() else NUMBER_WORDS[match[1].lower()]
        days = max(count, 1) * _UNIT_DAYS[match[2].lower()]
        return _clip(as_of - timedelta(days=days - 1), as_of, as_of, match[0])
    for pattern, window in _RULES:
        found = pattern.search(question)
        if found:
            start, end = window(as_of)
            return _clip(start, end, as_of, found[0])
    found = _WEEKDAY.search(question)
    if found:
        back = (as_of.weekday() - WEEKDAYS.index(found[1].lower())) % 7
        day = as_of - timedelta(days=back)
        return _clip(day, day + timedelta(days=2), as_of, found[0])
    return None


def timeframe(question: str, as_of: date | str | None) -> TimeFrame:
    """The question's time frame; `as_of` (a date, or "YYYY-MM-DD") defaults to today."""
    day = as_of_date(as_of) or date.today()
    return TimeFrame(day, parse_window(question, day))


def as_of_date(value: date | str | None) -> date | None:
    """`as_of` as a day: a datetime counts as its day, a string is read as "YYYY-MM-DD" (`parse_as_of`);
    None means today. Anything else is a clear error rather than a crash deep in the retriever."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_as_of(value)
    raise RagError(f"as_of must be a date or a 'YYYY-MM-DD' string, not {type(value).__name__} {value!r}.")


def parse_as_of(text: str | None) -> date | None:
    """A user's as_of date ("YYYY-MM-DD"); None when blank (meaning today); a clear error otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise RagError(f"As-of date {text!r} is not a date like 2025-02-14 (YYYY-MM-DD).") from exc


def as_of_lead(as_of: date) -> str:
    """The words that open an answer whose truth depends on the date: "As of 14 February 2025, "."""
    return f"As of {as_of.day} {as_of:%B %Y}, "


def published_day(meta: dict[str, Any]) -> int:
    """The chunk's publication day as YYYYMMDD, 0 when undated."""
    try:
        return int(meta.get(DAY_KEY) or 0)
    except (TypeError, ValueError):
        return 0


def eligible(meta: dict[str, Any], as_of: date) -> bool:
    """May this chunk be retrieved for a question asked on `as_of`? (Not published after it.)"""
    return published_day(meta) <= day_number(as_of)


def _day(number: int) -> date | None:
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


def time_fit(meta: dict[str, Any], frame: TimeFrame) -> float:
    """How well the chunk's date fits the question's window: 1 inside it, falling towards 0 with the
    distance (in window lengths) outside it; 0 for undated chunks, so at equal relevance they rank after
    dated ones. 0 for every chunk when the question has no window."""
    if frame.window is None:
        return 0.0
    day = _day(published_day(meta))
    if day is None:
        return 0.0
    window = frame.window
    if window.start <= day <= window.end:
        return 1.0
    gap = (window.start - day).days if day < window.start else (day - window.end).days
    return 1.0 / (1.0 + gap / window.days())
