"""Eval metrics: pure functions over a gold item, an answer, its citations and the retrieved passages.

Data shapes:
    gold line   {"id", "question", "answers": [str], "answers_all": [str], "supporting_docs": [doc stem],
                 "type", "answerable": bool, "note"?: str, ...unknown keys kept in GoldItem.extra}
    doc stem    the article's file name without extension: "000_0acf8dbdca9c3ed5" for doc_id
                "000_0acf8dbdca9c3ed5.txt" (or "sub/000_0acf8dbdca9c3ed5.txt")
    passages    texts numbered [1]..[n] in the order the generator saw them (rank order)

Every metric is a small function whose docstring gives its definition and source. Bad input raises
(`RagError` for a bad gold file, `ValueError` for a caller's mistake); a metric that does not apply to a
question (citations of a refusal, retrieval of an unanswerable question) is `None` and is left out of the
averages, never counted as 0 and never NaN.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from rag.errors import RagError
from rag.models import Answer
from rag.sentences import sentence_spans

TYPES = ("factoid", "numeric", "temporal", "list", "multi-doc", "conflict", "unanswerable", "paraphrase")
_REQUIRED: dict[str, type] = {
    "id": str,
    "question": str,
    "answers": list,
    "answers_all": list,
    "supporting_docs": list,
    "type": str,
    "answerable": bool,
}


# --------------------------------------------------------------------------------------------- gold set


@dataclass
class GoldItem:
    """One gold question. `answers`: any one must appear; `answers_all`: every entry must ("a|b" = a or b)."""

    id: str
    question: str
    answers: list[str]
    answers_all: list[str]
    supporting_docs: list[str]  # doc stems
    type: str
    answerable: bool
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # keys this loader does not know, kept as they are


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file (blank lines skipped); raise `RagError` naming the line of any bad entry."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise RagError(f"Gold set {path} not found; pass a .jsonl file (see eval/README.md).") from exc
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from exc
        item = _gold_item(raw, where)
        if item.id in seen:
            raise RagError(f"{where}: duplicate id {item.id!r}; every question needs its own id.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise RagError(f"Gold set {path} holds no questions.")
    return items


def _gold_item(raw: Any, where: str) -> GoldItem:
    if not isinstance(raw, dict):
        raise RagError(f"{where}: expected a JSON object, got {type(raw).__name__}.")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise RagError(f"{where}: missing field(s) {', '.join(missing)}.")
    for key, kind in _REQUIRED.items():
        if not isinstance(raw[key], kind):
            got = type(raw[key]).__name__
            raise RagError(f"{where}: field {key!r} must be a {kind.__name__}, not {got}.")
    for key in ("answers", "answers_all", "supporting_docs"):
        if not all(isinstance(v, str) and v.strip() for v in raw[key]):
            raise RagError(f"{where}: field {key!r} must hold non-empty strings only.")
    if any(not alt.strip() for entry in raw["answers_all"] for alt in entry.split("|")):
        raise RagError(f"{where}: an answers_all entry has an empty '|' alternative.")
    if raw["type"] not in TYPES:
        raise RagError(f"{where}: unknown type {raw['type']!r}; expected one of {', '.join(TYPES)}.")
    if raw["type"] == "unanswerable" and raw["answerable"]:
        raise RagError(f"{where}: type 'unanswerable' needs \"answerable\": false.")
    if raw["answerable"] and not (raw["answers"] or raw["answers_all"]):
        raise RagError(f"{where}: an answerable question needs 'answers' or 'answers_all'.")
    if raw["answerable"] and not raw["supporting_docs"]:
        raise RagError(f"{where}: an answerable question needs 'supporting_docs'.")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise RagError(f"{where}: field 'note' must be a str.")
    extra = {k: v for k, v in raw.items() if k not in _REQUIRED and k != "note"}
    return GoldItem(
        raw["id"],
        raw["question"],
        list(raw["answers"]),
        list(raw["answers_all"]),
        list(raw["supporting_docs"]),
        raw["type"],
        raw["answerable"],
        note,
        extra,
    )


def doc_stem(doc_id: str) -> str:
    """The gold id of an article: its file name without extension ("a/000_x.txt" -> "000_x")."""
    return PurePosixPath(doc_id.replace("\\", "/")).stem


# ------------------------------------------------------------------------------------ answer matching

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "ı": "i",
    }
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d]")


def normalize(text: str) -> str:
    """Casefold, strip accents (NFKD, combining marks dropped), unify quotes and dashes, squash whitespace."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DASHES.sub("-", text.translate(_QUOTES)).casefold()
    return " ".join(text.split())


def _words(text: str) -> str:
    """Normalised text as space-joined word tokens: punctuation and hyphens become word breaks."""
    return " ".join(re.findall(r"\w+", normalize(text)))


def contains(text: str, phrase: str) -> bool:
    """True when `phrase` occurs in `text` after normalising both, on word boundaries ("5" is not in "15")."""
    needle = _words(phrase)
    if not needle:
        raise ValueError(f"cannot match an empty answer string: {phrase!r}")
    return f" {needle} " in f" {_words(text)} "


def _entries_found(entries: Iterable[str], texts: Sequence[str]) -> bool:
    """Every entry ("a|b" = a or b) occurs in at least one of `texts`."""
    return all(any(contains(t, alt) for alt in entry.split("|") for t in texts) for entry in entries)


def answer_correct(item: GoldItem, answer_text: str) -> bool:
    """Answer accuracy as substring containment ("EM-in", ALCE's `exact_presence`): the normalised reply
    contains one of `answers` (if any are given) and, for list questions, every `answers_all` entry, where
    an entry may list alternatives as "Turkey|Türkiye". Only defined for answerable items."""
    if not item.answerable:
        raise ValueError(f"{item.id} is unanswerable: judge it by refusal (is_correct), not answer_correct")
    if item.answers and not any(contains(answer_text, a) for a in item.answers):
        return False
    return _entries_found(item.answers_all, [answer_text])


def is_correct(item: GoldItem, answer_text: str, refused: bool, cited_doc_ids: Iterable[str]) -> bool:
    """The headline verdict. Unanswerable: right iff refused. Answerable: wrong if refused, else
    `answer_correct`; a conflict question is right only when, in addition, the citations cover every doc in
    `supporting_docs` (both sides of the disagreement are shown)."""
    if not item.answerable:
        return refused
    if refused or not answer_correct(item, answer_text):
        return False
    if item.type == "conflict":
        return set(item.supporting_docs) <= {doc_stem(d) for d in cited_doc_ids}
    return True


def gold_strings(item: GoldItem) -> list[str]:
    """The reference strings token F1 compares against: each alias, and for lists all entries joined."""
    refs = list(item.answers)
    if item.answers_all:
        refs.append(" ".join(entry.split("|")[0] for entry in item.answers_all))
    return refs


_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _squad_tokens(text: str) -> list[str]:
    text = re.sub(r"[^\w\s]", " ", normalize(text))
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """SQuAD token F1 (Rajpurkar et al. 2016, official eval script): harmonic mean of token precision and
    recall between prediction and reference after lower-casing and dropping punctuation and articles;
    with several references, the best one counts. Two empty token lists score 1, one empty scores 0."""
    refs = [gold] if isinstance(gold, str) else list(gold)
    if not refs:
        raise ValueError("token_f1 needs at least one reference string")
    pred = _squad_tokens(prediction)
    best = 0.0
    for ref in refs:
        ref_tokens = _squad_tokens(ref)
        if not pred or not ref_tokens:
            best = max(best, float(pred == ref_tokens))
            continue
        common = sum((Counter(pred) & Counter(ref_tokens)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref_tokens)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


# ------------------------------------------------------------------------------------------ retrieval


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, not {k!r}")


def _supporting(item: GoldItem) -> set[str]:
    if not item.supporting_docs:
        raise ValueError(f"{item.id} has no supporting_docs; retrieval metrics do not apply to it")
    return set(item.supporting_docs)


def doc_recall_at_k(item: GoldItem, retrieved_doc_ids: Sequence[str], k: int) -> float:
    """Document recall@k: the share of `supporting_docs` among the articles of the top-k passages
    (|supporting ∩ docs(top k)| / |supporting|)."""
    _check_k(k)
    supporting = _supporting(item)
    return len(supporting & {doc_stem(d) for d in retrieved_doc_ids[:k]}) / len(supporting)


def doc_hit_at_k(item: GoldItem, retrieved_doc_ids: Sequence[str], k: int) -> float:
    """Hit rate (llama-index's `HitRate`): 1.0 when any supporting doc is among the top-k, else 0.0."""
    _check_k(k)
    return float(bool(_supporting(item) & {doc_stem(d) for d in retrieved_doc_ids[:k]}))


def reciprocal_rank(item: GoldItem, retrieved_doc_ids: Sequence[str]) -> float:
    """Reciprocal rank (MRR when averaged; Voorhees, TREC-8 QA 1999): 1/rank of the first retrieved
    passage whose article is a supporting doc, 0 when none is."""
    supporting = _supporting(item)
    for rank, doc_id in enumerate(retrieved_doc_ids, start=1):
        if doc_stem(doc_id) in supporting:
            return 1.0 / rank
    return 0.0


def answer_recall_at_k(item: GoldItem, passage_texts: Sequence[str], k: int) -> float:
    """Top-k retrieval accuracy of DPR (Karpukhin et al. 2020, §5.1): 1 when at least one of the top-k
    passages contains a gold answer string (normalised), else 0. For list questions every `answers_all`
    entry must occur somewhere in the top k. Relative dates resolved by hand ("1 December" for
    "yesterday") are not in any passage, so items whose only answers are such dates score 0 here."""
    _check_k(k)
    if not item.answerable:
        raise ValueError(f"{item.id} is unanswerable: answer recall does not apply")
    top = list(passage_texts[:k])
    if item.answers and not any(contains(t, a) for a in item.answers for t in top):
        return 0.0
    return 1.0 if _entries_found(item.answers_all, top) else 0.0


# -------------------------------------------------------------------------------- document citations


def citation_hit(item: GoldItem, cited_doc_ids: Iterable[str]) -> bool:
    """Citation hit: at least one cited article is in `supporting_docs`."""
    return bool(_supporting(item) & {doc_stem(d) for d in cited_doc_ids})


def citation_precision_docs(item: GoldItem, cited_doc_ids: Iterable[str]) -> float:
    """Document-level citation precision: the share of distinct cited articles that are in
    `supporting_docs`; an answer with no citations scores 0 (as in ALCE, where no citations give 0)."""
    supporting = _supporting(item)
    cited = {doc_stem(d) for d in cited_doc_ids}
    return len(cited & supporting) / len(cited) if cited else 0.0


# ----------------------------------------------------------------------------------- support judging


class SupportJudge(Protocol):
    """Decides whether `evidence` (concatenated passages) supports `claim` (one answer sentence)."""

    def supports(self, claim: str, evidence: str) -> bool: ...


def _words_of(text: str) -> list[str]:
    return text.split()


_STOP = frozenset(
    _words_of("""
a about above after again against all also am an and any are as at be been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers him his how i if in into is it its itself just me more most my no nor not now of off on once
only or other our out over own same she should so some such than that the their theirs them then there
these they this those through to too under until up very was we were what when where which while who
whom why will with would you your according article articles passage passages source sources report
reports reported reporting say says said state states stated mention mentions mentioned note notes noted
told tell per i.e e.g eg ie that's
""")
)
# Number words read as digits; "one" is left out, it is too often a pronoun ("one of the commanders").
_NUMBER_WORDS = {
    w: str(i) for i, w in enumerate(_words_of("zero one two three four five six seven eight nine"))
}
_NUMBER_WORDS |= {"ten": "10", "eleven": "11", "twelve": "12", "twenty": "20"}
del _NUMBER_WORDS["one"]
_MONTHS = {m: i for i, m in enumerate(_words_of("january february march april may june july august"), 1)}
_MONTHS |= {m: i for i, m in enumerate(_words_of("september october november december"), 9)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9})
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}\b"),
    re.compile(rf"\b{_MONTH}\s+(?P<year>\d{{4}})\b"),
]
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
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


def _stem(word: str) -> str:
    """Light suffix stripping so "forces"/"forced"/"force" and "captured"/"capture" meet."""
    for suffix, repl in (("ies", "y"), ("s", ""), ("ing", ""), ("ed", ""), ("e", "")):
        if suffix == "s" and word.endswith(("ss", "us", "is")):  # class, Damascus, analysis
            continue
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + repl
    return word


_UNITS = {"km": "kilometer", "kms": "kilometer", "mi": "mile"}


def _content_stems(text: str) -> set[str]:
    words = (_UNITS.get(w, w) for w in re.findall(r"[^\W\d_]+", text))
    return {_stem(w) for w in words if len(w) > 1 and w not in _STOP}


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


# ------------------------------------------------------------------- ALCE sentence-level citations

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


@dataclass
class SentenceVerdict:
    """One answer sentence: its text without markers, the passages it cites and the judge's verdicts."""

    text: str
    markers: list[int]
    supported: bool = False
    precise: list[bool] = field(default_factory=list)  # per marker; empty when its citations don't count


def cited_sentences(answer_text: str) -> list[SentenceVerdict]:
    """Split an answer into sentences (rag.sentences) with their `[n]`/`[n, m]` markers, markers removed
    from the text. Markers that open a sentence ("... Hama. [1] The army ...") and marker-only fragments
    belong to the sentence before; repeated markers in one sentence count once."""
    out: list[SentenceVerdict] = []
    for start, end in sentence_spans(answer_text):
        raw = answer_text[start:end]
        lead = _LEADING_MARKERS.match(raw)
        if lead and out:
            _add_markers(out[-1], lead.group(0))
            raw = raw[lead.end() :]
        text = " ".join(_MARKER.sub(" ", raw).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if not re.search(r"\w", text):
            if out:
                _add_markers(out[-1], raw)
            continue
        sentence = SentenceVerdict(text, [])
        _add_markers(sentence, raw)
        out.append(sentence)
    return out


def _add_markers(sentence: SentenceVerdict, raw: str) -> None:
    for group in _MARKER.findall(raw):
        for n in (int(x) for x in group.split(",")):
            if n not in sentence.markers:
                sentence.markers.append(n)


def check_citations(answer_text: str, passages: Sequence[str], judge: SupportJudge) -> list[SentenceVerdict]:
    """Judge every answer sentence against the passages it cites, as ALCE's `compute_autoais` does
    (Gao et al. 2023, "Enabling LLMs to generate text with citations", §2.2, eval.py):

    - supported: the sentence has citations, all in range 1..len(passages), and the concatenation of the
      cited passages entails it. No citations, or one out of range: unsupported, and its citations are
      not counted for precision.
    - precise, per citation of a supported sentence with several citations: a citation is imprecise iff
      (a) it alone does not entail the sentence and (b) the remaining cited passages still do; otherwise
      precise. A supported sentence with one citation: that citation is precise. An unsupported sentence
      with in-range citations: all its citations are imprecise (they count, and score 0).
    """
    verdicts = cited_sentences(answer_text)
    for v in verdicts:
        if not v.markers or any(not 1 <= m <= len(passages) for m in v.markers):
            continue
        v.supported = judge.supports(v.text, _join(passages, v.markers))
        if not v.supported:
            v.precise = [False] * len(v.markers)
        elif len(v.markers) == 1:
            v.precise = [True]
        else:
            for m in v.markers:
                alone = judge.supports(v.text, _join(passages, [m]))
                rest = [x for x in v.markers if x != m]
                v.precise.append(alone or not judge.supports(v.text, _join(passages, rest)))
    return verdicts


def _join(passages: Sequence[str], markers: Sequence[int]) -> str:
    return "\n".join(passages[m - 1] for m in markers)


def citation_recall(verdicts: Sequence[SentenceVerdict]) -> float:
    """ALCE citation recall: the share of answer sentences supported by (the concatenation of) the
    passages they cite; sentences without citations count as unsupported."""
    if not verdicts:
        raise ValueError("citation recall needs at least one answer sentence")
    return sum(v.supported for v in verdicts) / len(verdicts)


def citation_precision(verdicts: Sequence[SentenceVerdict]) -> float:
    """ALCE citation precision: precise citations / counted citations over the whole answer (see
    `check_citations` for which citations are precise and which count); 0 when none count."""
    if not verdicts:
        raise ValueError("citation precision needs at least one answer sentence")
    counted = [p for v in verdicts for p in v.precise]
    return sum(counted) / len(counted) if counted else 0.0


# ------------------------------------------------------------------------------------ per question


@dataclass
class QuestionResult:
    """Everything one gold question produced in a run: what the report and the summary read."""

    id: str
    type: str
    question: str
    answerable: bool
    answer: str
    refused: bool
    citations: list[dict[str, Any]]  # Citation.to_dict() shapes
    retrieved_doc_ids: list[str]  # in rank order
    passage_texts: list[str]  # in rank order; passage [n] is passage_texts[n - 1]
    verdicts: dict[str, Any]  # score_question's output
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: retrieve, generate, ...
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens
    mode: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_question(
    item: GoldItem,
    *,
    answer_text: str,
    refused: bool,
    cited_doc_ids: Sequence[str],
    retrieved_doc_ids: Sequence[str],
    passages: Sequence[str],
    k: int,
    judge: SupportJudge,
    evidence: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All per-question verdicts; metrics that do not apply are None. `passages` are the texts numbered
    [1]..[n]; `evidence` (default: `passages`) is what the judge reads for each, e.g. with a title and
    published-date header as ALCE prefixes titles."""
    _check_k(k)
    evidence = list(passages if evidence is None else evidence)
    if len(evidence) != len(passages):
        raise ValueError("evidence must hold one text per passage")
    v: dict[str, Any] = {
        "k": k,
        "refused": refused,
        "correct": is_correct(item, answer_text, refused, cited_doc_ids),
    }
    for key in (
        "answer_match",
        "f1",
        "doc_recall_at_k",
        "reciprocal_rank",
        "answer_recall_at_k",
        "answer_recall_at_1",
        "answer_recall_at_3",
        "doc_hit_at_k",
        "citation_hit",
        "citation_precision_docs",
        "citations_cover_support",
        "citation_recall",
        "citation_precision",
    ):
        v[key] = None
    v["sentences"] = []
    if item.answerable:
        v["doc_recall_at_k"] = doc_recall_at_k(item, retrieved_doc_ids, k)
        v["reciprocal_rank"] = reciprocal_rank(item, retrieved_doc_ids)
        v["answer_recall_at_k"] = answer_recall_at_k(item, passages, k)
        v["answer_recall_at_1"] = answer_recall_at_k(item, passages, 1)
        v["answer_recall_at_3"] = answer_recall_at_k(item, passages, min(3, k))
        v["doc_hit_at_k"] = doc_hit_at_k(item, retrieved_doc_ids, k)
        v["answer_match"] = False if refused else answer_correct(item, answer_text)
        v["f1"] = 0.0 if refused else token_f1(answer_text, gold_strings(item))
        if not refused:
            v["citation_hit"] = citation_hit(item, cited_doc_ids)
            v["citation_precision_docs"] = citation_precision_docs(item, cited_doc_ids)
            v["citations_cover_support"] = set(item.supporting_docs) <= {doc_stem(d) for d in cited_doc_ids}
    if not refused:
        sentences = check_citations(answer_text, evidence, judge)
        if sentences:
            v["citation_recall"] = citation_recall(sentences)
            v["citation_precision"] = citation_precision(sentences)
            v["sentences"] = [asdict(s) for s in sentences]
    return v


def passage_evidence(text: str, meta: Mapping[str, Any]) -> str:
    """A passage as the judge reads it: title and published date first (as ALCE's "Title: ..." prefix),
    so dates relative to the article ("yesterday") can be resolved."""
    head = [f"Title: {meta['title']}"] if meta.get("title") else []
    if meta.get("published"):
        head.append(f"Published: {meta['published']}")
    return "\n".join([*head, text])


def result_from_answer(
    item: GoldItem, answer: Answer, *, k: int, judge: SupportJudge, timings: Mapping[str, float] | None = None
) -> QuestionResult:
    """Score an `Answer` from the assistant against its gold item."""
    passages = sorted(answer.passages, key=lambda p: p.number)
    if [p.number for p in passages] != list(range(1, len(passages) + 1)):
        raise ValueError(f"{item.id}: passages must be numbered 1..n, got {[p.number for p in passages]}")
    texts = [p.text for p in passages]
    doc_ids = [p.doc_id for p in passages]
    cited = [c.doc_id for c in answer.citations]
    verdicts = score_question(
        item,
        answer_text=answer.text,
        refused=answer.refused,
        cited_doc_ids=cited,
        retrieved_doc_ids=doc_ids,
        passages=texts,
        k=k,
        judge=judge,
        evidence=[passage_evidence(p.text, p.meta) for p in passages],
    )
    return QuestionResult(
        item.id,
        item.type,
        item.question,
        item.answerable,
        answer.text,
        answer.refused,
        [c.to_dict() for c in answer.citations],
        doc_ids,
        texts,
        verdicts,
        dict(timings if timings is not None else answer.timings),
        dict(answer.usage),
        answer.mode,
        list(answer.notes),
    )


# ---------------------------------------------------------------------------------------- summary

METRICS = (
    "correct",
    "answer_match",
    "f1",
    "doc_recall_at_k",
    "doc_hit_at_k",
    "reciprocal_rank",
    "answer_recall_at_1",
    "answer_recall_at_3",
    "answer_recall_at_k",
    "citation_hit",
    "citation_precision_docs",
    "citation_recall",
    "citation_precision",
)


def mean_metric(values: Iterable[Any], name: str = "metric") -> float | None:
    """Mean of the applicable values (None = not applicable, skipped); None when nothing applies.
    Raises on a value that is not a number in [0, 1] (NaN included)."""
    kept: list[float] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 1:
            raise ValueError(f"{name}: {value!r} is not a score in [0, 1]")
        kept.append(float(value))
    return statistics.fmean(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, not {q}")
    ordered = sorted(float(v) for v in values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


_PRICE_KEYS = ("input", "output")


def load_prices(path: str | Path) -> dict[str, dict[str, float]]:
    """Model -> {"input": USD per 1M prompt tokens, "output": USD per 1M completion tokens}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RagError(f"Cannot read the price table {path}: {exc}") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise RagError(f'{path}: expected {{"models": {{name: {{"input": .., "output": ..}}}}}}.')
    for name, price in models.items():
        ok = isinstance(price, dict) and all(isinstance(price.get(x), int | float) for x in _PRICE_KEYS)
        if not ok:
            raise RagError(f"{path}: model {name!r} needs numeric 'input' and 'output' prices per 1M tokens.")
    return models


def estimate_cost(
    model: str | None, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, Mapping[str, float]]
) -> float | None:
    """USD cost = (prompt * input + completion * output) / 1e6; None for a model not in the table."""
    if model is None or model not in prices:
        return None
    price = prices[model]
    return (prompt_tokens * price["input"] + completion_tokens * price["output"]) / 1_000_000


def _metric_block(results: Sequence[QuestionResult]) -> dict[str, Any]:
    block: dict[str, Any] = {"n": len(results)}
    for name in METRICS:
        values = [r.verdicts.get(name) for r in results]
        block[name] = mean_metric(values, name)
        block[f"{name}_n"] = sum(v is not None for v in values)
    return block


def summarize(
    results: Sequence[QuestionResult],
    *,
    model: str | None = None,
    prices: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Each metric overall and per question type, refusal rates, latency percentiles per stage (ms), token
    usage and the estimated cost (None when the model is not in `prices` or no tokens were used)."""
    if not results:
        raise ValueError("nothing to summarise: no results")
    for r in results:
        if r.type not in TYPES:
            raise ValueError(f"{r.id}: unknown question type {r.type!r}")
    unanswerable = [r.refused for r in results if not r.answerable]
    answerable = [r.refused for r in results if r.answerable]
    stages = sorted({stage for r in results for stage in r.timings})
    latency = {}
    for stage in stages:
        ms = [1000 * float(r.timings[stage]) for r in results if stage in r.timings]
        latency[stage] = {
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "mean_ms": statistics.fmean(ms),
            "n": len(ms),
        }
    prompt = sum(int(r.usage.get("prompt_tokens", 0)) for r in results)
    completion = sum(int(r.usage.get("completion_tokens", 0)) for r in results)
    cost = estimate_cost(model, prompt, completion, prices or {}) if prompt + completion else None
    return {
        "n": len(results),
        "overall": _metric_block(results),
        "by_type": {
            t: _metric_block([r for r in results if r.type == t])
            for t in TYPES
            if any(r.type == t for r in results)
        },
        "refusal": {
            "unanswerable_refused": statistics.fmean(unanswerable) if unanswerable else None,
            "answerable_refused": statistics.fmean(answerable) if answerable else None,
            "n_unanswerable": len(unanswerable),
            "n_answerable": len(answerable),
        },
        "latency": latency,
        "usage": {
            "model": model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost_usd": cost,
        },
    }
