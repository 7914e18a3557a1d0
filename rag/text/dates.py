"""Dates in article text: the dateline an article was published on, and the dates its sentences mention.

News copy says "yesterday", "on Wednesday" or "November 30" and leaves the reader to anchor them on the
dateline. `resolve_dates` does that anchoring so answers can say "1 December 2024" instead of "yesterday".
Finding the expressions is our own regexes (dateparser's `search_dates` also matches "we" and "may");
dateparser parses the explicit full dates, and the anchoring rules are ours:

- a date without a year ("November 30", "5 December") takes the dateline's year, or the year before when
  that would put it more than a month after the dateline (a 2 January report about "December 30").
  Without a dateline it stays unresolved: ``resolved=None`` and ``month_day=(11, 30)``.
- a weekday ("on Wednesday", "since Wednesday") is the most recent such day on or before the dateline;
  "last Wednesday" is the most recent one strictly before it; "next Wednesday" the first one after it.
- "today", "tonight", "this morning" and "overnight" are the dateline's date (wire copy files the night
  before under the morning's date); "yesterday" and "last night" the day before.
- "last week" / "this week" / "earlier this week" resolve to the Monday of that week with granularity
  "week"; "last month" and "March 2020" to the first of the month ("month"); "2011" to 1 January ("year").
- "a day later" / "two days earlier" / "the next day" count from the previous dated mention in the text;
  followed by ", on November 30" they form one mention whose explicit date wins.
- a bare four-digit year counts only after a word like "in", "since", "of", "the", "and" ("since 2011",
  "the 2017 treaty"); "Resolution 2254" and "2000 fighters" are not dates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from rag.text.numbers import NUMBER_WORDS

Granularity = Literal["day", "week", "month", "year"]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# "a day later", "two weeks ago": small counts, where "a"/"an" mean one.
_NUMBERS = {"a": 1, "an": 1} | {w: v for w, v in NUMBER_WORDS.items() if 1 <= v <= 10}

# Month and weekday names are matched case-sensitively so "may" and "march" as verbs are not dates.
# Only abbreviations take a dot, so "on 5 December." leaves the full stop to the sentence.
MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)")
WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
YEAR = r"(?:1[89]\d\d|20\d\d)"
_COUNT = r"(?:\d{1,2}|" + "|".join(_NUMBERS) + ")"

# --- datelines --------------------------------------------------------------------------------------

_LABEL = r"(?:(?:Date|Published(?: on)?|Posted(?: on)?|Updated(?: on)?|Last updated(?: on)?)\s*:?\s*)?"
_TIME = r"(?:\s*(?:[,|•·–—-]|at)?\s*\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,5}(?:[+-]\d{1,2})?)?)?"
_DATE_FORMS = (
    rf"(?:{WEEKDAY},?\s+)?{DAY}\s+{MONTH},?\s+{YEAR}",  # Monday, 02 December 2024
    rf"(?:{WEEKDAY},?\s+)?{MONTH}\s+{DAY},?\s+{YEAR}",  # Monday, December 2, 2024
    r"\d{4}-\d{2}-\d{2}",  # 2024-12-02
)
_DATELINE = re.compile(rf"^{_LABEL}(?P<date>{'|'.join(_DATE_FORMS)}){_TIME}\.?$", re.IGNORECASE)
_EMPTY_LABEL = re.compile(r"^(?:Date|Published(?: on)?|Posted(?: on)?|Updated|Last updated)\s*:?$",
                          re.IGNORECASE)
_NON_ENGLISH_CANDIDATE = re.compile(rf"^\D{{0,20}}\d{{1,2}}\.?\s+\w+\.?\s+{YEAR}$")

_PARSE_SETTINGS = {"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}


def parse_dateline(line: str) -> date | None:
    """The date of a line that holds only a date ("Monday, 02 December 2024", "Published: 2024-12-02").

    Returns None for anything else, including numeric forms like 02/12/2024 whose day and month order
    cannot be told apart.
    """
    line = line.strip()
    if len(line) > 60:
        return None
    match = _DATELINE.match(line)
    if match:
        return _parse_explicit(match.group("date"), ("en",))
    # Other languages ("2 décembre 2024"): let dateparser try, but only for short day-month-year lines.
    if _NON_ENGLISH_CANDIDATE.match(line):
        return _parse_explicit(line, None)
    return None


# A wire or press-release lede that opens with its dateline: "SPRINGFIELD, Ill., March 3, 2024 — ...",
# "NEW YORK, March 3, 2024 /PRNewswire/ -- ...". The place in capitals and the dash after the date keep
# it apart from a sentence that merely starts with a date. Only a full date counts: "LONDON, Dec 2
# (Reuters) -" has no year, and guessing one would misdate archive copy.
_LEDE_DATELINE = re.compile(
    rf"^[A-Z][A-Z.'’ -]*[A-Z.],(?:\s+[A-Z][\w.]*(?:\s+[A-Z][\w.]*){{0,2}},)?\s+"
    rf"(?P<date>(?:{WEEKDAY},?\s+)?(?:{MONTH}\s+{DAY},?\s+{YEAR}|{DAY}\s+{MONTH},?\s+{YEAR}))"
    r"\s*(?:/[^/\n]{1,40}/|\([^)\n]{1,40}\))?\s*(?:--|[—–-])\s")


def lede_dateline(line: str) -> date | None:
    """The date of a body line that opens with a dateline ("NEW YORK, March 3, 2024 /PRNewswire/ -- ..."),
    or None."""
    match = _LEDE_DATELINE.match(line.strip())
    return _parse_explicit(match.group("date"), ("en",)) if match else None


def is_empty_date_label(line: str) -> bool:
    """True for a "Date:" / "Published:" label with nothing after it."""
    return bool(_EMPTY_LABEL.match(line.strip()))


def published_from_text(text: str, head_lines: int = 8) -> date | None:
    """The publication date from a dateline among the first `head_lines` non-empty lines, if any."""
    lines = [line for line in text.splitlines() if line.strip()][:head_lines]
    for line in lines:
        found = parse_dateline(line)
        if found:
            return found
    return None


def parse_date_value(value: str) -> date | None:
    """A date from a metadata field: ISO ("2024-12-02", "2024-12-02T10:00:00Z") or a written date."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return _parse_explicit(value, None)


# dateparser takes milliseconds per call, and ingest meets the same expressions again and again (chunk
# overlaps, datelines, recurring dates): about a fifth of a RealTimeQA ingest went here before this cache.
@functools.lru_cache(maxsize=8192)
def _parse_explicit(expression: str, languages: tuple[str, ...] | None) -> date | None:
    import dateparser  # on first use: its import is a tenth of a second of every cold `rag ask`

    parsed = dateparser.parse(
        expression,
        languages=list(languages) if languages else None,
        settings=dict(_PARSE_SETTINGS),
    )
    return parsed.date() if parsed else None


# --- mentions in running text -----------------------------------------------------------------------


@dataclass
class DateMention:
    """One date expression in a text, with the date it stands for (None when it cannot be anchored)."""

    start: int  # [start, end) offsets of `expression` in the text
    end: int
    expression: str
    resolved: date | None
    relative: bool  # True when the meaning depends on the dateline ("yesterday", "on Wednesday")
    granularity: Granularity = "day"  # for "week"/"month"/"year", `resolved` is the period's first day
    month_day: tuple[int, int] | None = None  # (month, day) of a yearless date left unresolved


_Resolver = Callable[[re.Match[str], date | None], DateMention]

# Alternatives are tried in order at each position, so longer forms come before their parts.
_MENTION = re.compile("|".join([
    rf"(?P<full>(?:{WEEKDAY},?\s+)?(?:{DAY}\s+{MONTH},?\s+{YEAR}|{MONTH}\s+{DAY},?\s+{YEAR})\b)",
    r"(?P<iso>\b\d{4}-\d{2}-\d{2}\b)",
    rf"(?P<month_year>\b{MONTH}\s+{YEAR}\b)",
    rf"(?P<day_month>\b{DAY}\s+{MONTH}(?![\w]))",
    rf"(?P<month_day>\b{MONTH}\s+{DAY}\b(?![:.]\d))",
    rf"(?P<today>\b(?i:today|tonight|this\s+(?:morning|afternoon|evening)|overnight)\b"
    rf"(?:,?\s+{WEEKDAY}\b|\s+\({WEEKDAY}\))?)",
    r"(?P<yesterday>\b(?i:yesterday|last\s+night)\b)",
    r"(?P<tomorrow>\b(?i:tomorrow)\b)",
    rf"(?P<ago>\b(?i:{_COUNT}\s+(?:day|week|month|year)s?\s+ago)\b)",
    rf"(?P<offset>\b(?i:{_COUNT}\s+(?:day|week)s?\s+(?:later|earlier|after|before)|"
    r"the\s+(?:next|following|previous)\s+day|the\s+day\s+(?:before|after))\b)",
    r"(?P<period>\b(?i:(?:since\s+|until\s+)?(?:last|this|next|earlier\s+this|later\s+this|past|previous|"
    r"the\s+past|the\s+previous)\s+(?:week|month|year))\b)",
    rf"(?P<weekday>\b(?i:(?:since\s+last|since|until|till|by|from|on|last|this|next|earlier\s+this|"
    rf"late|early)\s+)?{WEEKDAY}\b)",
    rf"(?P<year>\b{YEAR}\b)",
]))
# A bare year needs a word before it that makes it one; "and"/"or"/"to" only after another year
# ("since 2011 and 2012"), so "and 2000 fighters" is a count; "since at least 1950" is a year, "at least
# 2000 people" a count.
_YEAR_CONTEXT = re.compile(rf"(?:\bsince\s+at\s+least|"
                           rf"\b(?:in|since|until|till|by|from|of|the|before|after|early|late|mid|during|"
                           rf"between|through|around|spring|summer|autumn|fall|winter)|"
                           rf"\b{YEAR},?\s+(?:and|or|to))\s+$", re.IGNORECASE)
_OFFSET_JOIN = re.compile(r"^,?\s*(?:on\s+|in\s+)?$", re.IGNORECASE)


def resolve_dates(text: str, published: date | None) -> list[DateMention]:
    """Every date expression in `text`, in order, anchored on the article's publication date."""
    found: list[tuple[str, DateMention]] = []  # (kind, mention); kind is the _MENTION group that matched
    for match in _MENTION.finditer(text):
        kind = match.lastgroup or ""
        if kind == "year" and not _YEAR_CONTEXT.search(text[max(0, match.start() - 16):match.start()]):
            continue
        mention = _RESOLVERS[kind](match, published)
        if kind == "offset":
            mention = _anchor_offset(mention, match, [m for _, m in found])
        found.append((kind, mention))
    return _merge_offsets(text, found)


# "the first time since 2011", "the highest since the 2008 crisis": the date is what the event is compared
# with, not when it happened.
_COMPARISON = re.compile(r"\b(?:first|last|highest|lowest|most|least|biggest|largest|smallest|worst|best|"
                         r"strongest|weakest|fewest|longest|shortest)\b[^,;:.]*\bsince\b[^,;:.]*$", re.IGNORECASE)


# "... the first clash since March 2020 when a ceasefire was established": a "when" clause right after the
# date says what happened on it, so for that event the date is no comparison point.
_DATED_EVENT = re.compile(r"^[\w.,' ]{0,20}?,?\s+when\b", re.IGNORECASE)


def is_comparison_point(text: str, start: int) -> bool:
    """True when the date starting at `start` is a comparison point ("the first time since ... 2011"), and
    not also the date of an event the sentence names ("since March 2020 when a ceasefire ...")."""
    if _DATED_EVENT.match(text[start:start + 60]):
        return False
    return _COMPARISON.search(text[max(0, start - 120):start]) is not None


def format_resolved(mention: DateMention) -> str:
    """A resolved mention for people: "1 December 2024", "the week of 25 November 2024", "March 2020".

    A yearless date stays yearless ("30 November"); an unresolved mention gives its own expression.
    """
    found = mention.resolved
    if found is None:
        if mention.month_day:
            month, day = mention.month_day
            return f"{day} {MONTHS[month - 1]}"
        return mention.expression
    if mention.granularity == "year":
        return str(found.year)
    if mention.granularity == "month":
        return f"{MONTHS[found.month - 1]} {found.year}"
    day = f"{found.day} {MONTHS[found.month - 1]} {found.year}"
    return f"the week of {day}" if mention.granularity == "week" else day


def _mention(match: re.Match[str], resolved: date | None, relative: bool, granularity: Granularity = "day",
             month_day: tuple[int, int] | None = None) -> DateMention:
    return DateMention(match.start(), match.end(), match.group(0), resolved, relative, granularity, month_day)


def _full(match: re.Match[str], published: date | None) -> DateMention:
    return _mention(match, _parse_explicit(match.group(0), ("en",)), relative=False)


def _iso(match: re.Match[str], published: date | None) -> DateMention:
    try:
        return _mention(match, date.fromisoformat(match.group(0)), relative=False)
    except ValueError:
        return _mention(match, None, relative=False)


def _month_year(match: re.Match[str], published: date | None) -> DateMention:
    month = month_number(match.group(0))
    year = int(re.findall(r"\d{4}", match.group(0))[-1])
    return _mention(match, date(year, month, 1), relative=False, granularity="month")


def _yearless(match: re.Match[str], published: date | None) -> DateMention:
    month = month_number(match.group(0))
    day = int(re.search(r"\d+", match.group(0)).group(0))  # type: ignore[union-attr]
    resolved = _with_year(month, day, published) if published else None
    valid = _valid(2000, month, day)  # 2000 is a leap year, so 29 February counts as a real date
    month_day = (month, day) if valid and not resolved else None
    return _mention(match, resolved, relative=False, month_day=month_day)


def _today(match: re.Match[str], published: date | None) -> DateMention:
    return _mention(match, published, relative=True)


def _days_from(days: int) -> _Resolver:
    def resolve(match: re.Match[str], published: date | None) -> DateMention:
        return _mention(match, published + timedelta(days=days) if published else None, relative=True)
    return resolve


def _ago(match: re.Match[str], published: date | None) -> DateMention:
    count_word, unit = match.group(0).lower().split()[:2]
    count = _count(count_word)
    if published is None:
        return _mention(match, None, relative=True)
    unit = unit.rstrip("s")
    if unit == "day":
        return _mention(match, published - timedelta(days=count), relative=True)
    if unit == "week":
        return _mention(match, published - timedelta(weeks=count), relative=True)
    if unit == "month":
        first = _add_months(published.replace(day=1), -count)
        return _mention(match, first, relative=True, granularity="month")
    return _mention(match, date(published.year - count, 1, 1), relative=True, granularity="year")


def _offset(match: re.Match[str], published: date | None) -> DateMention:
    # Anchored on the previous mention by `_anchor_offset`, which knows the mentions before it.
    return _mention(match, None, relative=True)


def _period(match: re.Match[str], published: date | None) -> DateMention:
    words = match.group(0).lower().split()
    unit = words[-1]
    granularity: Granularity = "week" if unit == "week" else "month" if unit == "month" else "year"
    if published is None:
        return _mention(match, None, relative=True, granularity=granularity)
    step = -1 if any(w in ("last", "past", "previous") for w in words) else 1 if "next" in words else 0
    if unit == "week":
        monday = published - timedelta(days=published.weekday())
        return _mention(match, monday + timedelta(weeks=step), relative=True, granularity="week")
    if unit == "month":
        first = _add_months(published.replace(day=1), step)
        return _mention(match, first, relative=True, granularity="month")
    return _mention(match, date(published.year + step, 1, 1), relative=True, granularity="year")


def _weekday(match: re.Match[str], published: date | None) -> DateMention:
    words = match.group(0).lower().split()
    if published is None:
        return _mention(match, None, relative=True)
    target = WEEKDAYS.index(words[-1])
    back = (published.weekday() - target) % 7
    if "next" in words:
        ahead = (target - published.weekday()) % 7 or 7
        return _mention(match, published + timedelta(days=ahead), relative=True)
    if "this" in words:
        return _mention(match, published + timedelta(days=target - published.weekday()), relative=True)
    if "last" in words and back == 0:
        back = 7
    return _mention(match, published - timedelta(days=back), relative=True)


def _year(match: re.Match[str], published: date | None) -> DateMention:
    return _mention(match, date(int(match.group(0)), 1, 1), relative=False, granularity="year")


_RESOLVERS: dict[str, _Resolver] = {
    "full": _full, "iso": _iso, "month_year": _month_year, "day_month": _yearless, "month_day": _yearless,
    "today": _today, "yesterday": _days_from(-1), "tomorrow": _days_from(1), "ago": _ago, "offset": _offset,
    "period": _period, "weekday": _weekday, "year": _year,
}


def _anchor_offset(mention: DateMention, match: re.Match[str], before: list[DateMention]) -> DateMention:
    """Resolve "a day later" / "the previous day" against the last day-precise mention before it."""
    days = _offset_days(match.group(0).lower())
    dated = [m for m in before if m.granularity == "day" and (m.resolved or m.month_day)]
    anchor = dated[-1] if dated else None
    if anchor is None:
        return mention
    if anchor.resolved:
        return replace(mention, resolved=anchor.resolved + timedelta(days=days))
    month, day = anchor.month_day  # type: ignore[misc]
    shifted = date(2000, month, day) + timedelta(days=days)
    return replace(mention, month_day=(shifted.month, shifted.day))


def _offset_days(expression: str) -> int:
    words = expression.split()
    if words[0] == "the":
        return -1 if ("previous" in words or "before" in words) else 1
    count = _count(words[0]) * (7 if words[1].startswith("week") else 1)
    return -count if words[-1] in ("earlier", "before") else count


def _merge_offsets(text: str, found: list[tuple[str, DateMention]]) -> list[DateMention]:
    """Join "a day later" with a directly following ", on November 30" into one mention."""
    merged: list[DateMention] = []
    previous_kind = ""
    for kind, mention in found:
        previous = merged[-1] if merged else None
        explicit_day = kind in ("full", "iso", "day_month", "month_day")
        if (previous is not None and previous_kind == "offset" and explicit_day
                and _OFFSET_JOIN.match(text[previous.end:mention.start])):
            resolved = mention.resolved or previous.resolved
            month_day = None if resolved else (mention.month_day or previous.month_day)
            merged[-1] = DateMention(previous.start, mention.end, text[previous.start:mention.end], resolved,
                                     relative=True, granularity="day", month_day=month_day)
            previous_kind = "merged"
            continue
        merged.append(mention)
        previous_kind = kind
    return merged


def _with_year(month: int, day: int, published: date) -> date | None:
    if not _valid(published.year, month, day):
        return None
    candidate = date(published.year, month, day)
    if candidate > published + timedelta(days=31) and _valid(published.year - 1, month, day):
        return date(published.year - 1, month, day)
    return candidate


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def month_number(expression: str) -> int:
    """The month (1-12) named in `expression` ("Dec.", "december 5"); ValueError when none is."""
    for word in re.findall(r"[A-Za-z]+", expression):
        for number, name in enumerate(MONTHS, start=1):
            if len(word) >= 3 and name.lower().startswith(word.lower()):
                return number
    raise ValueError(f"no month name in {expression!r}")


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
