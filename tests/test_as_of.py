"""Questions asked "as of" a date, and `rag eval --corpus` over articles the test writes itself.

Unit tests read time words against a given as_of (pure logic); the retrieval and eval tests use real parts:
a Chroma index built with the MiniLM embedder in a temp dir, and the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.errors import RagError
from rag.eval.gold import doc_stem
from rag.retrieve.timeframe import (
    TimeFrame,
    Window,
    as_of_date,
    as_of_lead,
    eligible,
    parse_as_of,
    parse_window,
    time_fit,
    timeframe,
)
from rag.settings import PROJECT_ROOT, Settings

FRIDAY = date(2023, 1, 6)  # a Friday


# ------------------------------------------------------------------------------- time words (unit)


@pytest.mark.parametrize(("question", "start", "end"), [
    ("Which team did he play for this week?", date(2022, 12, 31), FRIDAY),
    ("What happened today?", FRIDAY, FRIDAY),
    ("Who resigned yesterday?", date(2023, 1, 5), date(2023, 1, 5)),
    ("Who won the election on Sunday?", date(2023, 1, 1), date(2023, 1, 3)),
    ("What did Sunday's vote decide?", date(2023, 1, 1), date(2023, 1, 3)),
    ("Who spoke on Friday?", FRIDAY, FRIDAY),  # that weekday is as_of itself: the window stops there
    ("What was announced last week?", date(2022, 12, 24), date(2022, 12, 30)),
    ("What did the Fed do last month?", date(2022, 12, 1), date(2022, 12, 31)),
    ("Which film leads the box office this year?", date(2023, 1, 1), FRIDAY),
    ("Who is currently the speaker?", date(2022, 12, 8), FRIDAY),
    ("Which band recently split?", date(2022, 12, 8), FRIDAY),
    ("What rose in the past 3 days?", date(2023, 1, 4), FRIDAY),
    ("What rose in the past twelve days?", date(2022, 12, 26), FRIDAY),  # any number word, one copy of them
    ("What changed over the last 0 days?", FRIDAY, FRIDAY),  # never a window that ends before it starts
])
def test_time_words_are_read_against_as_of(question: str, start: date, end: date) -> None:
    window = parse_window(question, FRIDAY)
    assert window is not None
    assert (window.start, window.end) == (start, end)


def test_a_question_without_time_words_has_no_window() -> None:
    assert parse_window("Who founded the company?", FRIDAY) is None
    assert not timeframe("Who founded the company?", FRIDAY).time_bound
    assert timeframe("Who won this week?", None).as_of == date.today()  # the default is today


def test_eligibility_and_window_fit() -> None:
    assert eligible({"published_day": 20230106}, FRIDAY)
    assert not eligible({"published_day": 20230107}, FRIDAY)
    assert eligible({"published_day": 0}, FRIDAY)  # undated: we cannot tell, so it stays eligible
    frame = TimeFrame(FRIDAY, Window(date(2022, 12, 31), FRIDAY, "this week"))
    inside, before, undated = ({"published_day": d} for d in (20230103, 20221201, 0))
    assert time_fit(inside, frame) == 1.0
    assert 0.0 < time_fit(before, frame) < 1.0
    assert time_fit(undated, frame) == 0.0  # undated ranks after dated ones at equal relevance
    assert time_fit(inside, TimeFrame(FRIDAY)) == 0.0  # no time words: no preference


def test_as_of_input_and_wording() -> None:
    assert parse_as_of(" 2025-02-14 ") == date(2025, 2, 14)
    assert parse_as_of("") is None
    with pytest.raises(RagError, match="YYYY-MM-DD"):
        parse_as_of("14/02/2025")
    assert as_of_lead(date(2025, 2, 14)) == "As of 14 February 2025, "
    # From Python, as_of may be a date, a datetime (its day) or the same string the CLI takes.
    assert as_of_date("2025-02-14") == as_of_date(datetime(2025, 2, 14, 23, 59)) == date(2025, 2, 14)
    assert as_of_date(None) is None
    with pytest.raises(RagError, match="as_of must be a date"):
        as_of_date(20250214)  # type: ignore[arg-type]


# --------------------------------------------------------------- articles the tests write themselves

ARTICLES = {
    "march.json": {"title": "Harbor city elects a mayor", "outlet": "example.org", "published": "2024-03-04",
                   "text": "Alice Moreau won the mayoral election in the harbor city of Port Verran on Sunday, "
                           "with 54 percent of the vote. Turnout was the highest in two decades."},
    "june.json": {"title": "Port Verran recall vote", "outlet": "example.org", "published": "2024-06-10",
                  "text": "Bruno Castel won the mayoral election in the harbor city of Port Verran on Sunday, "
                          "after a recall vote removed the previous mayor. Turnout was lower than in March."},
    "undated.txt": "Port Verran's harbor handles container ships and ferries. The city council meets monthly.",
}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in ARTICLES.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def corpus_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """A real index (Chroma + MiniLM) of the three articles above."""
    corpus = write_corpus(tmp_path_factory.mktemp("corpus"))
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("as-of-data"), llm="extractive",
                                   seeds_dir=corpus))
    assistant.ingest(corpus)
    return assistant


def test_an_article_published_after_as_of_is_never_retrieved(corpus_assistant: Assistant) -> None:
    question = "Who won the mayoral election in Port Verran?"
    everything = {doc_stem(p.doc_id) for p in corpus_assistant.retrieve(question, 10, as_of=date(2024, 12, 31))}
    assert "june" in everything  # it is relevant: only the date keeps it out below
    for as_of in (date(2024, 3, 4), date(2024, 6, 9)):
        passages = corpus_assistant.retrieve(question, 10, as_of=as_of)
        assert passages and "june" not in {doc_stem(p.doc_id) for p in passages}
        answer = corpus_assistant.ask(question, as_of=as_of)
        assert answer.citations and all(doc_stem(c.doc_id) != "june" for c in answer.citations)
        assert "Bruno" not in answer.text


def test_python_callers_get_clear_errors_and_string_dates(corpus_assistant: Assistant) -> None:
    question = "Who won the mayoral election in Port Verran?"
    by_string = corpus_assistant.retrieve(question, 10, as_of="2024-03-04")
    assert [p.doc_id for p in by_string] == [p.doc_id for p in corpus_assistant.retrieve(question, 10,
                                                                                           as_of=date(2024, 3, 4))]
    answer = corpus_assistant.ask(question, as_of=datetime(2024, 3, 4, 18, 30))
    assert answer.as_of == date(2024, 3, 4) and "Bruno" not in answer.text
    for bad_k in (0, -1, 2.5, "5", True):  # -1 used to mean "all but the last", 0 the default
        with pytest.raises(RagError, match="k must be a whole number"):
            corpus_assistant.retrieve(question, bad_k)  # type: ignore[arg-type]
        with pytest.raises(RagError, match="k must be a whole number"):
            corpus_assistant.ask(question, k=bad_k)  # type: ignore[arg-type]
    with pytest.raises(RagError, match="YYYY-MM-DD"):
        corpus_assistant.ask(question, as_of="yesterday")
    with pytest.raises(RagError, match="must be text"):
        corpus_assistant.ask(None)  # type: ignore[arg-type]


def test_time_words_favour_the_window_and_the_answer_says_as_of(corpus_assistant: Assistant) -> None:
    question = "Who won the mayoral election in Port Verran this week?"
    passages = corpus_assistant.retrieve(question, 3, as_of=date(2024, 6, 12))
    assert doc_stem(passages[0].doc_id) == "june"
    answer = corpus_assistant.ask(question, as_of=date(2024, 6, 12))
    assert answer.text.startswith("As of 12 June 2024, ") and "Bruno Castel" in answer.text
    assert answer.as_of == date(2024, 6, 12) and answer.to_dict()["as_of"] == "2024-06-12"
    early = corpus_assistant.ask(question, as_of=date(2024, 3, 5))
    assert "Alice Moreau" in early.text and "Bruno" not in early.text
    # A time-bound refusal keeps the day too, and reads as one sentence.
    none = corpus_assistant.ask("What did the Port Verran zoo name its new penguin this week?",
                                as_of=date(2024, 6, 12))
    assert none.kind == "refusal" and none.text == "As of 12 June 2024, the articles don't say."


# ------------------------------------------------------------------------ rag eval --corpus (real CLI)

GOLD = [
    {"id": "g1", "question": "Who won the mayoral election in Port Verran this week?", "answers": ["Alice Moreau"],
     "as_of": "2024-03-05", "type": "local-politics", "reviewer": "unknown fields are ignored"},
    {"id": "g2", "question": "Who won the mayoral election in Port Verran this week?", "answers": ["Bruno Castel"],
     "as_of": "2024-06-11", "type": "local-politics", "supporting_docs": ["june"]},
    {"id": "g3", "question": "What does the harbor of Port Verran handle?", "answers": ["container ships"]},
]


def rag_eval(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m rag eval ARGS` as a user runs it: offline, no OPENAI_* or other RAG_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "rag", "eval", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)


def test_rag_eval_over_a_corpus_folder(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "articles")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(row) + "\n" for row in GOLD), encoding="utf-8")
    data = tmp_path / "data"
    proc = rag_eval(data, "--corpus", str(corpus), "--gold", str(gold), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.strip()}
    assert rows["local-politics"][1:3] == ["2", "1.00"]  # a free label is its own slice; as_of decides
    assert rows["factoid"][1] == "1" and rows["overall"][1:3] == ["3", "1.00"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["run"]["corpus"] == str(corpus)
    # The index is cached by content: a second run reuses it, a changed corpus gets its own.
    cached = list((data / "eval" / "corpora").iterdir())
    assert len(cached) == 1
    seed_report = PROJECT_ROOT / "eval" / "out" / "report.json"
    before = seed_report.stat().st_mtime_ns if seed_report.exists() else None
    again = rag_eval(data, "--corpus", str(corpus), "--gold", str(gold), "--quiet")  # no --out
    assert again.returncode == 0, again.stderr
    assert list((data / "eval" / "corpora").iterdir()) == cached
    # Without --out the reports go beside the data, named after the gold file, not over the seed report.
    assert json.loads((data / "eval" / "reports" / "gold" / "report.json").read_text())["run"]["gold"] == str(gold)
    assert str(data / "eval" / "reports" / "gold") in again.stdout
    assert (seed_report.stat().st_mtime_ns if seed_report.exists() else None) == before
    missing = rag_eval(data, "--corpus", str(corpus))
    assert missing.returncode != 0 and "--gold" in missing.stderr and "Traceback" not in missing.stderr
