"""Eval metrics: pure functions over a gold item, an answer, its citations and the retrieved passages.

Where the pieces live:
    rag.eval.gold              the gold set: GoldItem, load_gold, doc_stem (data shapes there)
    rag.eval.metrics          this module: answer matching, retrieval and document-citation metrics, the
                          per-question verdicts (score_question) and the run summary (summarize)
    rag.eval.citation_metrics  ALCE sentence-level citation recall and precision
    rag.eval.judge             the support check those use (SupportJudge, offline LexicalJudge)

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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.eval.citation_metrics import check_citations, citation_precision, citation_recall
from rag.eval.gold import TYPES, GoldItem, doc_stem
from rag.eval.judge import SupportJudge
from rag.models import Answer
from rag.text.normalize import normalize

# ------------------------------------------------------------------------------------ answer matching


_ARTICLES = frozenset(("a", "an", "the"))


def _squad_tokens(text: str) -> list[str]:
    """SQuAD's and ALCE's `normalize_answer` as tokens: normalised, punctuation and hyphens as word breaks,
    the articles a/an/the dropped."""
    return [w for w in re.findall(r"\w+", normalize(text)) if w not in _ARTICLES]


def _words(text: str) -> str:
    """`_squad_tokens` space-joined ("The Bahamas" is said by "Bahamas"); a text of articles alone keeps them."""
    return " ".join(_squad_tokens(text) or re.findall(r"\w+", normalize(text)))


def contains(text: str, phrase: str) -> bool:
    """True when `phrase` occurs in `text` after normalising both (`_words`), on word boundaries ("5" is not
    in "15")."""
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
    entry must occur somewhere in the top k. Pass the passages as the generator sees them (with the
    "Dates: yesterday = 1 December 2024" line resolved at ingest), or items whose only answers are
    resolved relative dates score 0 here."""
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
    has_docs = bool(item.supporting_docs)  # gold files for other corpora may not name articles
    if item.answerable and has_docs:
        v["doc_recall_at_k"] = doc_recall_at_k(item, retrieved_doc_ids, k)
        v["reciprocal_rank"] = reciprocal_rank(item, retrieved_doc_ids)
        v["doc_hit_at_k"] = doc_hit_at_k(item, retrieved_doc_ids, k)
        if not refused:
            v["citation_hit"] = citation_hit(item, cited_doc_ids)
            v["citation_precision_docs"] = citation_precision_docs(item, cited_doc_ids)
            v["citations_cover_support"] = set(item.supporting_docs) <= {doc_stem(d) for d in cited_doc_ids}
    if item.answerable:
        # A passage as the generator sees it: its text plus the dateline and resolved relative dates.
        v["answer_recall_at_k"] = answer_recall_at_k(item, evidence, k)
        v["answer_recall_at_1"] = answer_recall_at_k(item, evidence, 1)
        v["answer_recall_at_3"] = answer_recall_at_k(item, evidence, min(3, k))
        v["answer_match"] = False if refused else answer_correct(item, answer_text)
        v["f1"] = 0.0 if refused else token_f1(answer_text, gold_strings(item))
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
    if meta.get("dates"):  # relative dates resolved at ingest, shown to both generators with the passage
        head.append(f"Dates: {meta['dates']}")
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
    # Known types in their usual order, then any other label a gold file uses, as its own slice.
    types = [t for t in TYPES if any(r.type == t for r in results)]
    types += sorted({r.type for r in results} - set(TYPES))
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
            t: _metric_block([r for r in results if r.type == t]) for t in types
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
