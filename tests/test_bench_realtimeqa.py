"""bench/realtimeqa.py's export logic on a small git repository the test writes in RealTimeQA's layout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.realtimeqa import read_week


def _repo(tmp_path: Path, qa_rows: list[dict], gcs_rows: list[dict]) -> Path:
    folder = tmp_path / "rtqa"
    (folder / "past" / "2023").mkdir(parents=True)
    for name, rows in (("20230922_qa.jsonl", qa_rows), ("20230922_gcs.jsonl", gcs_rows)):
        (folder / "past" / "2023" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "week"], check=True)
    return folder


def test_a_question_listed_twice_in_a_week_is_asked_and_kept_once(tmp_path: Path) -> None:
    question = {"question_id": "20230922_2", "question_date": "2023/09/22", "answer": ["1"],
                "question_sentence": "Who won the Singapore Grand Prix on Sunday?",
                "choices": ["Max Verstappen", "Carlos Sainz", "Lando Norris", "Lewis Hamilton"]}
    other = {**question, "question_id": "20230922_3", "question_sentence": "Who came second in Singapore?",
             "answer": ["2"]}
    hit = {"url": "https://example.com/sport/singapore", "title": "Sainz wins in Singapore",
           "publish_date": "2023/09/18", "text": "Carlos Sainz won the Singapore Grand Prix, ahead of Lando Norris."}
    gcs = [{"question_id": q["question_id"], "search_result": [hit]} for q in (question, other)]
    week = read_week(_repo(tmp_path, [question, other, question, other], gcs), "20230922")
    assert week.asked == 2
    assert [g["id"] for g in week.gold] == ["20230922_2", "20230922_3"]
    assert [g["answers"] for g in week.gold] == [["Carlos Sainz"], ["Lando Norris"]]


def test_the_fair_no_date_view_blanks_only_passages_published_after_the_quiz_day() -> None:
    from datetime import date

    from llama_index.core.schema import TextNode

    from bench.realtimeqa import _published_by

    nodes = [TextNode(text=f"passage {day}", metadata={"published_day": day, "doc_id": f"d{day}"})
             for day in (20230921, 20230922, 20230923, 0)]
    texts, docs = _published_by(nodes, date(2023, 9, 22), "doc_id")
    # the quiz day itself and an undated article stay (as the as_of filter keeps them); the day after goes
    assert texts == ["passage 20230921", "passage 20230922", "", "passage 0"]
    assert docs == ["d20230921", "d20230922", "", "d0"]
