"""Support check: does a piece of evidence (cited passages) support a claim (one answer sentence)?

`SupportJudge` is the seam (one `supports(claim, evidence)` method); `LexicalJudge` is the offline
default: exact about dates and numbers, lenient about wording (stems, prefixes, acronyms, and optionally
embedding similarity). `rag eval --judge llm` swaps in an LLM (rag.eval.runner.LLMJudge). The citation
metrics (rag.eval.citation_metrics) ask the judge one question per sentence and citation subset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from rag.text.dates import MONTHS, WEEKDAYS
from rag.text.normalize import normalize
from rag.text.numbers import NUMBER_WORDS
from rag.text.sentences import sentence_spans
from rag.text.tokens import STOPWORDS, stem


class SupportJudge(Protocol):
    """Decides whether `evidence` (concatenated passages) supports `claim` (one answer sentence)."""

    def supports(self, claim: str, evidence: str) -> bool: ...


# Attribution verbs and meta words say who said it, not what, and a claim's small words ("more", "up")
# are too loose to demand of the evidence: none of them counts as content.
_STOP = STOPWORDS | frozenset("""
above below between down during more most now off only out through under until up
according article articles passage passages source sources report reports reported reporting state states
stated mention mentions mentioned note notes noted told tell per ie eg not no""".split())
# Number words read as digits; "one" is left out, it is too often a pronoun ("one of the commanders").
_NUMBER_WORDS = {w: str(v) for w, v in NUMBER_WORDS.items() if 2 <= v <= 20} | {"zero": "0"}
_MONTHS = {m.lower(): i for i, m in enumerate(MONTHS, 1)} | {m[:3].lower(): i for i, m in enumerate(MONTHS, 1)}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}\b"),
    re.compile(rf"\b{_MONTH}\s+(?P<year>\d{{4}})\b"),
]
_WEEKDAYS = WEEKDAYS
_RELATIVE = re.compile(r"\b(?:(yesterday|today|tomorrow)|(last|on|this)\s+(" + "|".join(_WEEKDAYS) + r"))\b")

DateTuple = tuple[int, int | None, int | None]  # (month, day or None, year or None)


def _dates(text: str) -> tuple[list[DateTuple], str]:
    """Dates in normalised `text` ("5 December", "December 5, 2024", "2024-12-05", "March 2020") and the
    text with them blanked out (so their digits are not checked again as plain numbers)."""
    found: list[DateTuple] = []
    for pattern in _DATE_PATTERNS:

        def grab(m: re.Match[str]) -> str:
            g = m.groupdict()
            month = int(g["mnum"]) if g.get("mnum") else _MONTHS[g["month"]]
            day = int(g["day"]) if g.get("day") else None
            year = int(g["year"]) if g.get("year") else None
            if 1 <= month <= 12 and (day is None or 1 <= day <= 31):
                found.append((month, day, year))
                return " "
            return m.group(0)

        text = pattern.sub(grab, text)
    return found, text


def _numbers(text: str) -> set[str]:
    """Digit groups ("20,000" -> "20000", leading zeros dropped) and number words two..twenty as digits."""
    nums = {re.sub(r"[,]", "", n).lstrip("0") or "0" for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}
    return nums | {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text) if w in _NUMBER_WORDS}


def _resolved_days(text: str, anchors: list[DateTuple]) -> set[DateTuple]:
    """Dates that the relative day expressions in `text` can mean, given anchor dates with a year:
    yesterday/today/tomorrow = anchor -1/0/+1; "on|this <weekday>" = that weekday 0-6 days before the
    anchor; "last <weekday>" = that weekday 1-7 or 8-14 days before it (usage differs)."""
    out: set[DateTuple] = set()
    for month, day, year in anchors:
        if day is None or year is None:
            continue
        try:
            anchor = date(year, month, day)
        except ValueError:
            continue
        for m in _RELATIVE.finditer(text):
            if m.group(1):
                offsets = [{"yesterday": -1, "today": 0, "tomorrow": 1}[m.group(1)]]
            else:
                back = (anchor.weekday() - _WEEKDAYS.index(m.group(3))) % 7
                offsets = [-back] if m.group(2) != "last" else [-(back or 7), -(back or 7) - 7]
            for off in offsets:
                d = anchor + timedelta(days=off)
                out.add((d.month, d.day, d.year))
    return out


def _date_licensed(claim_date: DateTuple, ev_dates: list[DateTuple], resolved: set[DateTuple]) -> bool:
    month, day, year = claim_date
    for e_month, e_day, e_year in ev_dates:
        if e_month == month and (day is None or e_day == day) and (year is None or e_year in (None, year)):
            return True
    return any(r[0] == month and r[1] == day and (year is None or r[2] == year) for r in resolved)


_UNITS = {"km": "kilometer", "kms": "kilometer", "mi": "mile"}


def _content_stems(text: str) -> set[str]:
    words = (_UNITS.get(w, w) for w in re.findall(r"[^\W\d_]+", text))
    return {stem(w) for w in words if len(w) > 1 and w not in _STOP}


def _covered(stem: str, pool: set[str]) -> bool:
    """Exact stem match, or a shared prefix of >= 5 letters and >= 75% of the shorter word
    ("withdrew"/"withdrawal", "syria"/"syrian", "announc"/"announcement")."""
    if stem in pool:
        return True
    for other in pool:
        shared = len(_common_prefix(stem, other))
        if shared >= 5 and shared >= 0.75 * min(len(stem), len(other)):
            return True
    return False


def _acronyms(text: str) -> set[str]:
    """Initials of runs of capitalised words in the original text, so that "HTS" in a claim is covered by
    "Hayat Tahrir al-Sham" and "IRGC" by "Islamic Revolutionary Guard Corps" (lower-case particles such
    as al-, of, the are skipped inside a run)."""
    found: set[str] = set()
    run: list[str] = []
    for word in [*re.findall(r"[^\W\d_]+", text), ""]:
        if word[:1].isupper():
            run.append(word[0].lower())
            continue
        if word.lower() in {"al", "el", "ad", "of", "the", "for", "and", "de"} and run:
            continue
        for i in range(len(run)):
            for j in range(i + 2, len(run) + 1):
                found.add("".join(run[i:j]))
        run = []
    return found


def _common_prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


@dataclass
class LexicalJudge:
    """Offline support check: cheap, deterministic, and strict about facts.

    A claim is supported by the evidence when
      1. every date in the claim is mentioned in the evidence ("5 December" = "December 5" =
         "2024-12-05"; a year-less mention in the evidence licenses the claim's full date, since the year
         usually comes from the dateline), or is what a relative day word in the evidence ("yesterday",
         "today", "last Wednesday") resolves to from an anchor date in the evidence (a dateline such as
         "Monday, 02 December 2024" or a "Published: 2024-12-02" header); when the evidence has no anchor,
         the claim must quote the same relative word ("yesterday (i.e. 1 December 2024)");
      2. every other number in the claim occurs in the evidence ("five" = "5", "20,000" = "20000");
      3. at least `min_coverage` of the claim's content words (stop words and attribution verbs dropped,
         light stemming, shared-prefix matching, an acronym matching the initials of capitalised words)
         occur in the evidence; or, when `embed` is given, at
         least `min_coverage_with_embedding` do and some evidence sentence has cosine similarity
         >= `min_similarity` with the claim.
    A claim with no content word, number or date states nothing checkable and is not supported.
    """

    min_coverage: float = 0.6
    embed: Callable[[list[str]], list[list[float]]] | None = None
    min_similarity: float = 0.75
    min_coverage_with_embedding: float = 0.4

    def supports(self, claim: str, evidence: str) -> bool:
        return bool(self.explain(claim, evidence)["supported"])

    def explain(self, claim: str, evidence: str) -> dict[str, Any]:
        """The verdict with its reasons: coverage, uncovered words, unlicensed numbers and dates."""
        c_norm, e_norm = normalize(claim), normalize(evidence)
        c_dates, c_rest = _dates(c_norm)
        e_dates, _ = _dates(e_norm)
        anchors = [d for d in e_dates if d[1] is not None and d[2] is not None]
        if anchors:
            resolved = _resolved_days(e_norm, anchors)
        else:  # the claim resolved a relative word itself: license it if the evidence uses that word too
            c_words = {m.group(0) for m in _RELATIVE.finditer(c_norm)}
            shared = [m.group(0) for m in _RELATIVE.finditer(e_norm) if m.group(0) in c_words]
            resolved = {d for d in c_dates if shared and d[1] is not None}
        bad_dates = [d for d in c_dates if not _date_licensed(d, e_dates, resolved)]
        bad_numbers = sorted(_numbers(c_rest) - _numbers(e_norm))
        stems = _content_stems(_RELATIVE.sub(" ", c_rest))
        capitals = {w.lower() for w in re.findall(r"\b[A-Z]{2,6}\b", claim)}
        pool = _content_stems(e_norm) | (_acronyms(evidence) & capitals)
        missing = sorted(s for s in stems if not _covered(s, pool))
        coverage = 1 - len(missing) / len(stems) if stems else 0.0
        similarity = None
        lexical_ok = coverage >= self.min_coverage
        near = stems and coverage >= self.min_coverage_with_embedding
        if not lexical_ok and self.embed is not None and near:
            similarity = self._similarity(claim, evidence)
            lexical_ok = similarity >= self.min_similarity
        checkable = bool(stems or c_dates or _numbers(c_rest))
        supported = checkable and not bad_dates and not bad_numbers and (lexical_ok or not stems)
        return {
            "supported": supported,
            "coverage": coverage,
            "missing_words": missing,
            "bad_numbers": bad_numbers,
            "bad_dates": bad_dates,
            "similarity": similarity,
        }

    def _similarity(self, claim: str, evidence: str) -> float:
        sentences = [evidence[s:e] for s, e in sentence_spans(evidence)] or [evidence]
        assert self.embed is not None
        vectors = self.embed([claim, *sentences])
        if len(vectors) != len(sentences) + 1:
            raise ValueError(f"embed returned {len(vectors)} vectors for {len(sentences) + 1} texts")
        return max(_cosine(vectors[0], v) for v in vectors[1:])


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        raise ValueError("cannot take the cosine of a zero vector")
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)
