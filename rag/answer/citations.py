"""Citation markers: parse ``[n]`` in an answer, and find the sentence of passage n that backs the claim.

Pure logic shared by the LLM generator, the extractive generator and the eval's citation checker.
Markers are passage numbers: ``[1]``, ``[1, 2]``, ``[1][2]`` and ``[1-2]`` all cite passages 1 and 2
(read by rag.text.markers, the one marker parser).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.models import AlsoPublished, Citation, Passage
from rag.text.markers import GROUP, RUN, expand, strip_markers
from rag.text.sentences import sentence_spans
from rag.text.tokens import STOPWORDS, stem

# The words every generator shows when the passages do not answer the question. They are for the reader
# only: the outcome is `Answer.kind`, never recognised from this wording (see rag.answer.llm).
REFUSAL = "The articles don't say."

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")
_DATE_TEXT = (
    "january february march april june july august september october november december jan feb mar apr "
    "jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday yesterday "
    "today tomorrow"
)
_DATE_WORDS = frozenset(_DATE_TEXT.split())
_NUMBER_WEIGHT = 3.0  # a shared number or date is strong evidence that two sentences state the same fact
_DATE_WEIGHT = 2.0
_WORD_WEIGHT = 1.0


def parse_markers(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Return `text` without markers that point at no passage, and the valid markers in first-use order.

    Valid markers keep their numbers (nothing is renumbered); a group that mixes valid and invalid
    numbers is rewritten with the valid ones only (``[3, 9]`` -> ``[3]`` when there are 5 passages).
    """
    return _parse(text, set(range(1, n_passages + 1)))


def citations_for(text: str, passages: Sequence[Passage]) -> list[Citation]:
    """One `Citation` per distinct valid marker in `text`, in order of first appearance.

    Each citation quotes the sentence of the cited passage that best supports the answer sentence
    carrying the marker's first use.
    """
    by_number = {p.number: p for p in passages}
    clean, markers = _parse(text, set(by_number))
    claims = _claims_by_marker(clean, set(by_number))
    citations: list[Citation] = []
    for marker in markers:
        passage = by_number[marker]
        quote, start, end = best_quote(passage, claims.get(marker, ""))
        citations.append(_citation(marker, passage, quote, start, end))
    return citations


def best_quote(passage: Passage, claim: str) -> tuple[str, int, int]:
    """The passage sentence sharing the most weighted content words with `claim`, and its article span.

    Offsets are into the cleaned article: ``article.text[start:end] == quote``. Numbers and dates weigh
    more than words; ties go to the earlier sentence, and with no overlap at all the first sentence wins.
    """
    text = passage.text
    spans = sentence_spans(text) or [(0, len(text))]
    claim_terms = _terms(claim)
    best = max(spans, key=lambda span: (_overlap(claim_terms, _terms(text[span[0] : span[1]])), -span[0]))
    start, end = best
    return text[start:end], passage.start + start, passage.start + end


def _parse(text: str, valid: set[int]) -> tuple[str, list[int]]:
    seen: list[int] = []

    def rewrite(run: re.Match[str]) -> str:
        kept_groups: list[str] = []
        changed = False
        for group in GROUP.finditer(run.group(0)):
            numbers, all_valid = _expand(group.group(1), valid)
            seen.extend(n for n in numbers if n not in seen)
            changed = changed or not all_valid
            if all_valid:
                kept_groups.append(group.group(0))
            elif numbers:
                kept_groups.append("[" + ", ".join(map(str, numbers)) + "]")
        if not changed:
            return run.group(0)
        if kept_groups:
            return run.group(1) + "".join(kept_groups)
        # Dropping a whole run also drops the space before it ("Hama [9]." -> "Hama."), but not a line break.
        return "\n" if "\n" in run.group(1) else ""

    return RUN.sub(rewrite, text).strip(), seen


def _expand(group: str, valid: set[int]) -> tuple[list[int], bool]:
    """The valid numbers of one bracket group in order (ranges expanded), and whether all were valid."""
    numbers = expand(group)
    kept = [n for n in numbers if n in valid]
    return kept, len(kept) == len(numbers)


def _claims_by_marker(clean: str, valid: set[int]) -> dict[int, str]:
    """Map each marker to the answer sentence carrying its first use (markers stripped)."""
    spans = sentence_spans(clean)
    claims: dict[int, str] = {}
    for match in GROUP.finditer(clean):
        index = _sentence_index(spans, match.start())
        # "... on December 5. [1] Iran ..." puts the marker at the start of the next sentence; it still
        # belongs to the sentence before it.
        if index > 0 and not strip_markers(clean[spans[index][0] : match.start()]):
            index -= 1
        if index < 0:
            continue
        claim = strip_markers(clean[spans[index][0] : spans[index][1]])
        for n in _expand(match.group(1), valid)[0]:
            claims.setdefault(n, claim)
    return claims


def _sentence_index(spans: list[tuple[int, int]], pos: int) -> int:
    for i, (start, end) in enumerate(spans):
        if start <= pos < end:
            return i
    return len(spans) - 1


def _terms(text: str) -> dict[str, float]:
    """Content terms of `text` with their weights (numbers > dates > words; stopwords dropped)."""
    terms: dict[str, float] = {}
    for token in _TOKEN.findall(text.lower().replace("’", "'")):
        token = token.replace(",", "") if token.replace(",", "").isdigit() else token
        if token in STOPWORDS or (len(token) < 2 and not token.isdigit()):
            continue
        if any(ch.isdigit() for ch in token):
            terms[token] = _NUMBER_WEIGHT
        elif token in _DATE_WORDS:
            terms[token] = _DATE_WEIGHT
        else:
            terms[stem(token.removesuffix("'s"))] = _WORD_WEIGHT
    return terms


def _overlap(claim: dict[str, float], sentence: dict[str, float]) -> float:
    return sum(weight for term, weight in claim.items() if term in sentence)


def _citation(marker: int, passage: Passage, quote: str, start: int, end: int) -> Citation:
    meta = passage.meta
    return Citation(
        marker=marker,
        doc_id=str(meta.get("doc_id", "")),
        source=str(meta.get("source", "")),
        title=meta.get("title"),
        outlet=meta.get("outlet"),
        published=meta.get("published"),
        quote=quote,
        start=start,
        end=end,
        passage=passage.text,
        passage_start=passage.start,
        also_published=AlsoPublished.from_meta(meta),
    )
