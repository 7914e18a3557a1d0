"""`rag eval` in LLM mode, through the real OpenAI-compatible llama.cpp server: the run completes, answers
come from the server, and tokens and latency are reported (the tiny test model's quality is not judged)."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import LLM_TIMEOUT_S

from rag import Assistant, Settings
from rag.errors import RagError
from rag.eval.gold import load_gold
from rag.eval.judge import LexicalJudge
from rag.eval.runner import LLMJudge, format_table, parse_verdict, run

GOLD = Path(__file__).parent.parent / "eval" / "gold.jsonl"


@pytest.mark.llm
def test_eval_in_llm_mode_reports_tokens_and_latency(llm_server: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, openai_base_url=llm_server, llm="openai", llm_max_tokens=24,
                        llm_timeout=LLM_TIMEOUT_S)
    assistant = Assistant(settings)
    gold = [g for g in load_gold(GOLD) if g.id in ("q01", "q53")]
    summary, results = run(assistant, gold, k=3, llm="openai", judge=LexicalJudge(), progress=False)
    assert [r.mode for r in results] == ["openai", "openai"]
    assert summary["usage"]["prompt_tokens"] > 200 and summary["usage"]["completion_tokens"] > 0
    assert summary["usage"]["cost_usd"] is None  # a local model has no list price
    assert set(summary["latency"]) >= {"retrieve", "generate"}
    assert "tokens:" in format_table(summary)


@pytest.mark.llm
def test_llm_judge_goes_through_the_server_and_names_a_dead_one(llm_server: str, stopped_llm_url: str,
                                                                tmp_path: Path) -> None:
    judge = LLMJudge(Settings(data_dir=tmp_path, openai_base_url=llm_server, llm_timeout=LLM_TIMEOUT_S))
    # The 270M test model's verdict is not trusted, only that a real round trip yields one.
    assert isinstance(judge.supports("The army left Hama on December 5.", "On December 5 the army left Hama."), bool)
    dead = LLMJudge(Settings(data_dir=tmp_path, openai_base_url=stopped_llm_url))
    with pytest.raises(RagError, match=stopped_llm_url):
        dead.supports("claim", "evidence")


def test_judge_verdicts_are_parsed_strictly() -> None:
    assert parse_verdict("Yes.") and parse_verdict(" yes, it does")
    assert not parse_verdict("No") and not parse_verdict("") and not parse_verdict("yesterday")
