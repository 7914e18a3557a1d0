"""Unit tests of the eval metrics (rag.eval: metrics, citation_metrics, judge, gold) on scripted answers,
and checks of eval/gold.jsonl itself."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import date
from html import escape
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.eval.citation_metrics import check_citations, citation_precision, citation_recall, cited_sentences
from rag.eval.gold import TYPES, GoldItem, doc_stem, load_gold
from rag.eval.judge import LexicalJudge
from rag.eval.metrics import (
    QuestionResult,
    answer_correct,
    answer_recall_at_k,
    citation_hit,
    citation_precision_docs,
    contains,
    doc_recall_at_k,
    estimate_cost,
    is_correct,
    load_prices,
    mean_metric,
    percentile,
    reciprocal_rank,
    result_from_answer,
    score_question,
    summarize,
    token_f1,
)
from rag.models import Answer, Chunk, Citation, Passage
from rag.text.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold.jsonl"
SEEDS = ROOT / "seeds"
D0, D2 = "000_0acf8dbdca9c3ed5", "002_8feaf9a31dabf8c4"


def item(**kw: object) -> GoldItem:
    base: dict = dict(
        id="t1",
        question="q?",
        answers=["December 5", "5 December"],
        answers_all=[],
        supporting_docs=[D0],
        type="temporal",
        answerable=True,
    )
    base.update(kw)
    return GoldItem(**base)


class WordJudge:
    """Scripted judge for ALCE worked examples: supported iff every word of the claim is in the evidence."""

    def supports(self, claim: str, evidence: str) -> bool:
        words = set(re.findall(r"\w+", evidence.lower()))
        return set(re.findall(r"\w+", claim.lower())) <= words


# ------------------------------------------------------------------------------------- matching


def test_normalize_strips_accents_quotes_dashes_and_space():
    assert normalize("  Türkiye\u2019s   CITY\u2014Hama ") == "turkiye's city-hama"
    assert normalize("Türkiye") == normalize("turkiye") == normalize("TURKİYE")
    assert normalize("“Organization”") == '"organization"'


def test_contains_respects_word_boundaries_and_hyphens():
    assert contains("on 5 December 2024", "5 december")
    assert not contains("on 15 December", "5 December")
    assert contains("Syria’s fourth-largest city", "fourth largest")
    assert contains("Hayat Tahrir al-Sham (HTS)", "hayat tahrir al sham")
    with pytest.raises(ValueError):
        contains("text", " - ")


def test_contains_drops_articles_as_squad_and_alce_do():
    assert contains("arrested in the Bahamas", "Bahamas")
    assert contains("Bankman-Fried was arrested in Bahamas", "The Bahamas")
    assert not contains("the theatre", "theatre district")
    assert contains("a", "A")  # an answer of articles alone is still matched, not emptied


def test_answer_correct_any_alias_and_all_entries_with_alternatives():
    assert answer_correct(item(), "The army left Hama on 5 December [1].")
    assert not answer_correct(item(), "The army left Hama on 15 December [1].")
    listing = item(type="list", answers=[], answers_all=["Russia", "Turkey|Türkiye"])
    assert answer_correct(listing, "Brokered by Russia and Turkiye.")
    assert answer_correct(listing, "Brokered by Russia and Turkey.")
    assert not answer_correct(listing, "Brokered by Russia.")
    with pytest.raises(ValueError):
        answer_correct(item(answerable=False, type="unanswerable", answers=[]), "anything")


def test_conflict_is_right_only_when_both_sides_are_cited():
    conflict = item(type="conflict", answers=["November 30", "1 December"], supporting_docs=[D0, D2])
    text = "One outlet says November 30 [1], another 1 December [2]."
    assert is_correct(conflict, text, False, [f"{D0}.txt", f"{D2}.txt"])
    assert not is_correct(conflict, text, False, [f"{D0}.txt"])
    assert not is_correct(conflict, text, True, [f"{D0}.txt", f"{D2}.txt"])
    assert not is_correct(conflict, "It fell in 2016.", False, [f"{D0}.txt", f"{D2}.txt"])


def test_refusal_verdicts():
    unanswerable = item(type="unanswerable", answerable=False, answers=[], supporting_docs=[])
    assert is_correct(unanswerable, "The articles don't say.", True, [])
    assert not is_correct(unanswerable, "It is €20,000.", False, [])
    assert not is_correct(item(), "I don't know.", True, [])


def test_token_f1_squad_worked_example():
    assert token_f1("December 5", "december 5") == 1.0
    # prediction tokens: army left on december 5 ("the" dropped); 2 common; P = 2/5, R = 1
    assert token_f1("The army left on December 5", "December 5") == pytest.approx(2 * 0.4 / 1.4)
    assert token_f1("Hama", ["Homs", "Hama"]) == 1.0
    assert token_f1("", "Hama") == 0.0
    with pytest.raises(ValueError):
        token_f1("x", [])


# ------------------------------------------------------------------------------------ retrieval


def test_doc_stem():
    assert doc_stem("000_0acf8dbdca9c3ed5.txt") == D0
    assert doc_stem("sub/dir/000_0acf8dbdca9c3ed5.txt") == D0
    assert doc_stem(D0) == D0


def test_doc_recall_and_reciprocal_rank():
    gold = item(supporting_docs=[D0, D2])
    retrieved = ["003_x.txt", f"{D2}.txt", f"{D2}.txt", f"{D0}.txt"]
    assert doc_recall_at_k(gold, retrieved, 1) == 0.0
    assert doc_recall_at_k(gold, retrieved, 2) == 0.5
    assert doc_recall_at_k(gold, retrieved, 4) == 1.0
    assert reciprocal_rank(gold, retrieved) == 0.5
    assert reciprocal_rank(gold, ["003_x.txt"]) == 0.0
    with pytest.raises(ValueError):
        doc_recall_at_k(gold, retrieved, 0)
    with pytest.raises(ValueError):
        reciprocal_rank(item(supporting_docs=[]), retrieved)


def test_answer_recall_at_k_dpr_style():
    passages = ["Nothing here.", "On December 5, the army left.", "More."]
    assert answer_recall_at_k(item(), passages, 1) == 0.0
    assert answer_recall_at_k(item(), passages, 2) == 1.0
    listing = item(type="list", answers=[], answers_all=["Hmeimim", "Tartus"])
    assert answer_recall_at_k(listing, ["bases in Hmeimim", "and Tartus"], 2) == 1.0
    assert answer_recall_at_k(listing, ["bases in Hmeimim", "and Tartus"], 1) == 0.0


def test_document_citation_hit_and_precision():
    gold = item(supporting_docs=[D0, D2])
    assert citation_hit(gold, [f"{D0}.txt", "003_x.txt"])
    assert not citation_hit(gold, ["003_x.txt"])
    assert citation_precision_docs(gold, [f"{D0}.txt", f"{D0}.txt", "003_x.txt"]) == 0.5
    assert citation_precision_docs(gold, []) == 0.0


# ---------------------------------------------------------------------------------- ALCE citations


def test_cited_sentences_moves_trailing_markers_back_and_reads_groups():
    sentences = cited_sentences("Alpha beta. [1] Gamma [2, 3][2]. [4]")
    assert [(s.text, s.markers) for s in sentences] == [("Alpha beta.", [1]), ("Gamma.", [2, 3, 4])]


def test_alce_recall_and_precision_worked_example():
    passages = ["alpha beta", "gamma", "alpha beta gamma", "delta"]
    # 1 supported; [1] alone supports it, [4] is removable -> 1 of 2 precise
    # 2 supported only jointly: both citations needed -> 2 of 2 precise
    # 3 each citation alone supports it -> 2 of 2 precise (ALCE condition A)
    # 4 unsupported: its one citation counts and is imprecise
    # 5 no citation: unsupported, nothing counted for precision
    # 6 citation out of range: unsupported, not counted
    answer = "Alpha beta [1][4]. Alpha gamma [1][2]. Alpha beta [1][3]. Delta gamma [4]. Epsilon. Gamma [9]."
    verdicts = check_citations(answer, passages, WordJudge())
    assert [v.supported for v in verdicts] == [True, True, True, False, False, False]
    assert [v.precise for v in verdicts] == [[True, False], [True, True], [True, True], [False], [], []]
    assert citation_recall(verdicts) == pytest.approx(3 / 6)
    assert citation_precision(verdicts) == pytest.approx(5 / 7)


def test_alce_precision_zero_without_citations_and_errors_on_empty():
    verdicts = check_citations("Nothing cited here.", ["x"], WordJudge())
    assert citation_recall(verdicts) == 0.0
    assert citation_precision(verdicts) == 0.0
    with pytest.raises(ValueError):
        citation_recall([])
    with pytest.raises(ValueError):
        citation_precision([])


# -------------------------------------------------------------------------------- lexical judge

EV_002 = (
    "Monday, 02 December 2024\nHayat Tahrir al-Sham, formerly known as Al-Nusra Front, had begun an "
    "unprecedented surprise attack on Aleppo since last Wednesday, completely taking control of the "
    "city yesterday."
)
EV_000 = (
    "However, on December 5, the command of the SAR army officially announced the redeployment of its "
    "units outside the city of Hama."
)


def test_lexical_judge_dates_in_either_order_and_wrong_dates():
    judge = LexicalJudge()
    assert judge.supports(
        "The army command announced the redeployment of its units outside Hama on 5 December 2024.", EV_000
    )
    assert not judge.supports(
        "The army command announced the redeployment of its units outside Hama on 6 December.", EV_000
    )


def test_lexical_judge_numbers():
    judge = LexicalJudge()
    evidence = "Heavy fighting around five kilometers northeast of the city limits."
    assert judge.supports("Heavy fighting was reported 5 kilometers northeast of the city limits.", evidence)
    assert not judge.supports("Heavy fighting was reported 15 kilometers northeast of the city.", evidence)


def test_lexical_judge_resolves_relative_dates_from_an_anchor():
    judge = LexicalJudge()
    assert judge.supports("HTS took control of Aleppo on 1 December 2024.", EV_002)  # yesterday
    assert judge.supports("HTS began its surprise attack on Aleppo on 27 November.", EV_002)  # last Wednesday
    assert not judge.supports("HTS took control of Aleppo on 29 November 2024.", EV_002)
    no_anchor = EV_002.split("\n", 1)[1]
    assert not judge.supports("HTS took control of Aleppo on 1 December 2024.", no_anchor)
    assert judge.supports('HTS took control of Aleppo "yesterday" (i.e. 1 December 2024).', no_anchor)
    published = "Published: 2024-12-02\n" + no_anchor
    assert judge.supports("HTS took control of Aleppo on 1 December 2024.", published)


def test_lexical_judge_word_coverage_acronyms_and_empty_claims():
    judge = LexicalJudge()
    assert judge.supports("HTS took control of Aleppo.", EV_002)
    assert not judge.supports("Turkish troops entered Damascus overnight.", EV_002)
    assert not judge.supports("Yes.", EV_002)
    reason = judge.explain("Turkish troops entered Damascus.", EV_002)
    assert reason["coverage"] == 0.0 and "damascus" in reason["missing_words"]


def test_lexical_judge_embedding_term():
    vectors = {"claim": [1.0, 0.0], "close": [0.9, 0.1], "far": [0.0, 1.0]}

    def embed(texts: list[str]) -> list[list[float]]:
        return [
            vectors["claim"] if i == 0 else vectors["close" if "rebel" in t.lower() else "far"]
            for i, t in enumerate(texts)
        ]

    claim = "Insurgents seized Aleppo airport."  # 2 of 4 content words covered (0.5 < 0.6)
    evidence = "Rebel insurgents seized the city. Nothing else."
    assert not LexicalJudge().supports(claim, evidence)
    assert LexicalJudge(embed=embed).supports(claim, evidence)
    with pytest.raises(ValueError):
        LexicalJudge(embed=lambda texts: [[1.0, 0.0]]).supports(claim, evidence)


# ------------------------------------------------------------------------------ per question


def test_score_question_refusal_leaves_citation_metrics_out():
    v = score_question(
        item(),
        answer_text="The articles don't say.",
        refused=True,
        cited_doc_ids=[],
        retrieved_doc_ids=[f"{D0}.txt"],
        passages=[EV_000],
        k=5,
        judge=LexicalJudge(),
    )
    assert v["correct"] is False and v["answer_match"] is False and v["f1"] == 0.0
    assert v["doc_recall_at_k"] == 1.0 and v["answer_recall_at_k"] == 1.0
    assert v["citation_recall"] is None and v["citation_hit"] is None and v["citation_precision"] is None

    unanswerable = item(type="unanswerable", answerable=False, answers=[], supporting_docs=[])
    v = score_question(
        unanswerable,
        answer_text="No.",
        refused=True,
        cited_doc_ids=[],
        retrieved_doc_ids=[f"{D0}.txt"],
        passages=[EV_000],
        k=5,
        judge=LexicalJudge(),
    )
    assert v["correct"] is True and v["doc_recall_at_k"] is None and v["f1"] is None


def test_result_from_answer_with_real_model_objects():
    node = Chunk(
        text=EV_000, metadata={"doc_id": f"{D0}.txt", "title": "Iran warns", "published": "2024-12-06"}
    )
    passage = Passage(node=node, score=0.9, number=1)
    quote = "on December 5, the command of the SAR army officially announced the redeployment"
    citation = Citation(
        marker=1,
        doc_id=f"{D0}.txt",
        source=f"{D0}.txt",
        title="Iran warns",
        outlet=None,
        published="2024-12-06",
        quote=quote,
        start=9,
        end=9 + len(quote),
    )
    answer = Answer(
        question="When did the army leave Hama?",
        kind="answer",
        citations=[citation],
        text="On December 5, the SAR army command announced the redeployment of its units "
        "outside the city of Hama [1].",
        passages=[passage],
        timings={"retrieve": 0.01, "generate": 0.2},
        usage={},
    )
    result = result_from_answer(item(), answer, k=5, judge=LexicalJudge())
    assert result.verdicts["correct"] is True
    assert result.verdicts["citation_recall"] == 1.0 and result.verdicts["citation_precision"] == 1.0
    assert result.verdicts["citation_hit"] is True
    assert json.loads(json.dumps(result.to_dict()))["citations"][0]["quote"] == quote


# --------------------------------------------------------------------------------- aggregation


def result(qid: str, type_: str, answerable: bool, refused: bool, **verdicts: object) -> QuestionResult:
    return QuestionResult(
        qid,
        type_,
        "q?",
        answerable,
        "a",
        refused,
        [],
        [],
        [],
        dict(verdicts),
        timings={"retrieve": 0.010, "generate": 0.100},
        usage={},
    )


def test_summarize_overall_per_type_refusal_and_latency():
    results = [
        result("a", "factoid", True, False, correct=True, f1=1.0, citation_recall=1.0),
        result("b", "factoid", True, True, correct=False, f1=0.0, citation_recall=None),
        result("c", "unanswerable", False, True, correct=True, f1=None),
        result("d", "unanswerable", False, False, correct=False, f1=None),
    ]
    results[1].timings = {"retrieve": 0.030, "generate": 0.300}
    s = summarize(results)
    assert s["overall"]["correct"] == 0.5 and s["overall"]["f1"] == 0.5 and s["overall"]["f1_n"] == 2
    assert s["overall"]["citation_recall"] == 1.0 and s["overall"]["citation_recall_n"] == 1
    assert s["by_type"]["factoid"]["correct"] == 0.5 and s["by_type"]["unanswerable"]["f1"] is None
    assert s["refusal"] == {
        "unanswerable_refused": 0.5,
        "answerable_refused": 0.5,
        "n_unanswerable": 2,
        "n_answerable": 2,
    }
    assert s["latency"]["retrieve"]["p50_ms"] == pytest.approx(10.0)
    # generate = [100, 100, 100, 300] ms: the 95th percentile sits at rank 2.85
    assert s["latency"]["generate"]["p95_ms"] == pytest.approx(100.0 + 0.85 * 200)
    assert s["usage"]["cost_usd"] is None
    json.dumps(s)


def test_summarize_cost_and_bad_values():
    prices = load_prices(ROOT / "eval" / "prices.json")
    r = result("a", "factoid", True, False, correct=True)
    r.usage = {"prompt_tokens": 1_000_000, "completion_tokens": 500_000}
    s = summarize([r], model="gpt-4o-mini", prices=prices)
    assert s["usage"]["cost_usd"] == pytest.approx(0.15 + 0.30)
    assert summarize([r], model="llama-local", prices=prices)["usage"]["cost_usd"] is None
    assert estimate_cost(None, 10, 10, prices) is None
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([result("a", "factoid", True, False, f1=math.nan)])
    with pytest.raises(ValueError):
        mean_metric([1.5])


def test_percentile_linear_interpolation():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_bad_prices_file(tmp_path: Path):
    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"m": {"input": "cheap"}}}')
    with pytest.raises(RagError, match="'m'"):
        load_prices(bad)


# -------------------------------------------------------------------------------- gold loading


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps(
    {
        "id": "x1",
        "question": "q?",
        "answers": ["a"],
        "answers_all": [],
        "supporting_docs": ["d"],
        "type": "factoid",
        "answerable": True,
    }
)


def test_load_gold_is_lenient(tmp_path: Path):
    """Only id, question and answers (or "answerable": false) are needed; a free type label is kept; unknown
    fields are ignored."""
    free = json.dumps({"id": "x2", "question": "q?", "answers": ["a"], "type": "trivia", "as_of": "2023/01/05",
                       "wrong_answers": ["b"]})
    unanswerable = json.dumps({"id": "x3", "question": "q?", "answers": []})
    good, trivia, none = load_gold(write_lines(tmp_path, GOOD, free, unanswerable))
    assert (trivia.type, trivia.answerable, trivia.answers_all, trivia.supporting_docs) == ("trivia", True, [], [])
    assert trivia.as_of == date(2023, 1, 5) and good.as_of is None
    assert trivia.extra == {"wrong_answers": ["b"]}
    assert (none.type, none.answerable) == ("unanswerable", False)
    # answers may be left out where they cannot apply: an unanswerable row, or a list question's answers_all
    refuse = json.dumps({"id": "x4", "question": "q?", "answerable": False})
    typed = json.dumps({"id": "x5", "question": "q?", "type": "unanswerable"})
    listed = json.dumps({"id": "x6", "question": "q?", "answers_all": ["a", "b"]})
    refused, typed_item, list_item = load_gold(write_lines(tmp_path, refuse, typed, listed))
    assert (refused.answerable, refused.answers, typed_item.answerable) == (False, [], False)
    assert (list_item.answerable, list_item.answers, list_item.answers_all) == (True, [], ["a", "b"])


def test_load_gold_names_the_bad_line(tmp_path: Path):
    with pytest.raises(RagError, match=r"gold.jsonl:2: not valid JSON"):
        load_gold(write_lines(tmp_path, GOOD, '{"id": "x2", '))
    missing = json.dumps({"id": "x2", "question": "q?"})
    with pytest.raises(RagError, match=r":3: missing field\(s\) answers"):
        load_gold(write_lines(tmp_path, GOOD, "", missing))
    bad_date = GOOD.replace('"x1"', '"x2"').replace('"factoid"', '"factoid", "as_of": "next week"')
    with pytest.raises(RagError, match=r":2: 'as_of' 'next week' is not a date"):
        load_gold(write_lines(tmp_path, GOOD, bad_date))
    with pytest.raises(RagError, match="duplicate id"):
        load_gold(write_lines(tmp_path, GOOD, GOOD))
    wrong = GOOD.replace('"answerable": true', '"answerable": "yes"')
    with pytest.raises(RagError, match="'answerable' must be a bool"):
        load_gold(write_lines(tmp_path, wrong))
    with pytest.raises(RagError, match="not found"):
        load_gold(tmp_path / "nope.jsonl")


def test_load_gold_reads_scalars_as_meant_and_names_every_bad_line(tmp_path: Path):
    numbered = json.dumps({"id": 7, "question": "q?", "answers": "$48 million", "supporting_docs": "d"})
    (item,) = load_gold(write_lines(tmp_path, numbered))
    assert (item.id, item.answers, item.supporting_docs) == ("7", ["$48 million"], ["d"])
    empty = json.dumps({"id": "x2", "question": "  ", "answers": ["a"]})
    bad_date = json.dumps({"id": "x3", "question": "q?", "answers": ["a"], "as_of": "soon"})
    with pytest.raises(RagError) as caught:
        load_gold(write_lines(tmp_path, GOOD, empty, "{", bad_date, GOOD))
    message = str(caught.value)
    assert message.startswith("4 bad lines in ")
    for line, what in ((2, "the question is empty"), (3, "not valid JSON"), (4, "'as_of' 'soon'"),
                       (5, "duplicate id 'x1'")):
        assert f"gold.jsonl:{line}: {what}" in message


def test_load_gold_keeps_unknown_keys(tmp_path: Path):
    extra = GOOD[:-1] + ', "note": "n", "difficulty": 3}'
    (gold,) = load_gold(write_lines(tmp_path, extra))
    assert gold.note == "n" and gold.extra == {"difficulty": 3}


# ------------------------------------------------------------------------------ the gold set itself


@pytest.fixture(scope="module")
def gold() -> list[GoldItem]:
    return load_gold(GOLD)


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def test_gold_set_composition(gold: list[GoldItem], seeds: dict[str, str]):
    counts = Counter(g.type for g in gold)
    assert len(gold) >= 40 and set(counts) == set(TYPES)
    assert counts["unanswerable"] >= 8 and counts["conflict"] >= 2 and counts["multi-doc"] >= 3
    for doc in seeds:  # every article is the sole source of some question
        assert any(g.supporting_docs == [doc] for g in gold), doc
    for g in gold:
        assert set(g.supporting_docs) <= set(seeds), g.id
        if g.answerable:
            assert g.note, g.id
        if g.type in ("conflict", "multi-doc"):
            assert len(g.supporting_docs) >= 2, g.id


_NUMBER_WORDS = {"two": "2", "five": "5", "ten": "10"}
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"


def _variants(alias: str) -> set[str]:
    """Pure re-spellings of an alias: date order swapped, number words <-> digits, km/kilometres."""
    forms = {
        alias,
        re.sub(rf"^(\d+) {_MONTH}$", r"\2 \1", alias, flags=re.I),
        re.sub(rf"^{_MONTH} (\d+)$", r"\2 \1", alias, flags=re.I),
    }
    for word, digits in _NUMBER_WORDS.items():
        forms |= {f.replace(digits, word) for f in forms if re.match(rf"^{digits}\b", f)}
        forms |= {re.sub(rf"^{word}\b", digits, f) for f in forms}
    forms |= {re.sub(r"\b(kilometres|km)\b", "kilometers", f) for f in forms}
    return forms


def test_every_gold_answer_occurs_in_a_supporting_article(gold: list[GoldItem], seeds: dict[str, str]):
    """Each alias (answers, and at least one alternative of each answers_all entry) occurs in a supporting
    seed, up to a re-spelling. Aliases listed in the item's `resolved_dates` key are relative dates resolved
    by hand ("yesterday" in a piece dated 2 December 2024 -> 1 December): the judge's date resolution must
    derive them from one supporting article's own dateline and relative words instead."""
    judge = LexicalJudge()
    for g in (g for g in gold if g.answerable):
        texts = [seeds[d] for d in g.supporting_docs]
        resolved = g.extra.get("resolved_dates", [])
        assert set(resolved) <= set(g.answers), g.id
        for alias in g.answers:
            if alias in resolved:
                assert any(not judge.explain(alias, t)["bad_dates"] for t in texts), (g.id, alias)
                assert any(w in g.note for w in ("yesterday", "today", "last Wednesday")), g.id
            else:
                assert any(contains(t, v) for v in _variants(alias) for t in texts), (g.id, alias)
        for entry in g.answers_all:
            assert any(contains(t, alt) for alt in entry.split("|") for t in texts), (g.id, entry)


def test_unanswerable_gold_answers_are_not_in_article_bodies(gold: list[GoldItem]):
    for g in gold:
        if not g.answerable:
            assert g.type == "unanswerable" and not g.answers and not g.supporting_docs and g.note, g.id


# ------------------------------------------------------------------------------------------ report


def test_write_reports_json_and_offline_html(tmp_path: Path):
    from rag.eval.report import write_reports

    quote = "on December 5"
    r = QuestionResult(
        "q01",
        "temporal",
        "When did the army leave Hama?",
        True,
        "On December 5 [1].",
        False,
        [{"marker": 1, "doc_id": f"{D0}.txt", "title": "Iran <warns>", "quote": quote, "published": None}],
        [f"{D0}.txt"],
        [EV_000],
        {"correct": True, "f1": 0.5, "sentences": []},
        timings={"retrieve": 0.01, "generate": 0.2},
    )
    u = result("q60", "unanswerable", False, True, correct=True)
    json_path, html_path = write_reports(summarize([r, u]), [r, u], tmp_path / "out", {"mode": "extractive"})
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["run"] == {"mode": "extractive"} and [x["id"] for x in data["results"]] == ["q01", "q60"]
    page = html_path.read_text(encoding="utf-8")
    assert f"<mark>{quote}</mark>" in page and "Iran &lt;warns&gt;" in page and "<svg" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def _report_page(tmp_path: Path, run_info: dict[str, object], **kwargs: object) -> tuple[str, list[QuestionResult]]:
    """A report over a right answer (q01), a wrong one (q07) and a right refusal (q60)."""
    from rag.eval.report import write_reports

    ok = result("q01", "temporal", True, False, correct=True, f1=0.5, answer_recall_at_1=1.0)
    ok.question, ok.answer = "When did the army leave Hama?", "The army left on December 5 [1]."
    bad = result("q07", "factoid", True, False, correct=False, answer_match=False, f1=0.0,
                 answer_recall_at_1=0.0, citation_hit=False)
    bad.question, bad.answer = "Who led the <offensive>?", "Somebody else [1]."
    refusal = result("q60", "unanswerable", False, True, correct=True)
    refusal.question, refusal.answer = "What is post-series depression?", "The articles don't say."
    results = [ok, bad, refusal]
    _, html_path = write_reports(summarize(results), results, tmp_path / "out", run_info, **kwargs)
    return html_path.read_text(encoding="utf-8"), results


def test_report_lists_every_question_wrong_ones_first_and_marked(tmp_path: Path):
    gold = [item(id="q01", answers=["December 5", "5 December"]), item(id="q07", answers=["Abu Mohammed"]),
            item(id="q60", type="unanswerable", answerable=False, answers=[], supporting_docs=[])]
    page, results = _report_page(tmp_path, {"mode": "extractive"}, gold=gold)
    for r in results:
        assert f"id='q-{r.id}'" in page and escape(r.question) in page, r.id
    assert "Who led the &lt;offensive&gt;?" in page and "<offensive>" not in page
    # The wrong answer comes before the right ones, in a card marked as failed, and is linked from the top.
    cards = re.findall(r"<article class='q( fail)?' id='q-(\w+)'>", page)
    assert cards == [(" fail", "q07"), ("", "q01"), ("", "q60")]
    assert "✗ wrong</span><b>q07</b>" in page and "✓ right</span><b>q01</b>" in page
    assert "href='#q-q07'" in page and "Questions: 1 of 3 wrong" in page
    # Gold answers are shown, and marked where the answer contains them; the refusal's gold says so.
    assert "any of <b>December 5</b> · <b>5 December</b>" in page and "<b>Abu Mohammed</b>" in page
    assert "<mark class='gold'>December 5</mark>" in page
    assert "the right response is a refusal" in page
    # The headline strip defines its numbers in plain words; the per-type table has every type and overall.
    for title in ("Accuracy", "Answer recall@1", "Answer recall@3", "MRR", "Citation recall",
                  "Citation precision", "Refused when it should", "Refused wrongly"):
        assert f"<div class='t'>{title}</div>" in page, title
    assert all(f"<tr class=''><th>{t}</th>" in page for t in ("temporal", "factoid", "unanswerable"))
    assert "<tr class='total'><th>overall</th>" in page


def test_report_is_self_contained_and_reads_gold_from_the_run(tmp_path: Path):
    gold_file = tmp_path / "gold.jsonl"
    line = {"id": "q07", "question": "Who led the offensive?", "answers": ["Abu Mohammed"], "answers_all": [],
            "supporting_docs": [D0], "type": "factoid", "answerable": True}
    gold_file.write_text(json.dumps(line) + "\n", encoding="utf-8")
    page, _ = _report_page(tmp_path, {"gold": str(gold_file), "mode": "extractive"})
    assert "<b>Abu Mohammed</b>" in page  # read from the gold file the run names
    # Nothing to fetch: no scripts, stylesheets, images, fonts or frames, and no URL but the SVG namespace.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    urls = re.findall(r"https?://[^\s'\"<>]+", page)
    assert "<svg" in page and set(urls) == {"http://www.w3.org/2000/svg"}  # a namespace name, never fetched
    missing, _ = _report_page(tmp_path, {"gold": str(tmp_path / "moved.jsonl")})
    assert "Abu Mohammed" not in missing and "id='q-q07'" in missing  # a moved gold file: still a report
