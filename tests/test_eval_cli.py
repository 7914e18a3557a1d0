"""The eval end to end: our retrieval figures against llama-index's own `RetrieverEvaluator` (an oracle for
hit rate and MRR), and `rag eval` through the real CLI in a subprocess (exit codes, table, reports).

Everything runs on real parts: a Chroma index of seeds/ built in a temp dir with the MiniLM embedder.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from html import escape
from pathlib import Path

import pytest
from llama_index.core.evaluation import RetrieverEvaluator

from rag.assistant import Assistant
from rag.eval.gold import doc_stem, load_gold
from rag.eval.metrics import doc_hit_at_k, reciprocal_rank
from rag.settings import PROJECT_ROOT, Settings

GOLD = PROJECT_ROOT / "eval" / "gold.jsonl"


# --------------------------------------------------------------------- oracle: llama-index's evaluator


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """An assistant over a fresh index of seeds/."""
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("eval-data"), llm="extractive"))
    assistant.ingest(assistant.settings.seeds_dir)
    return assistant


def test_retrieval_metrics_agree_with_llama_index_retriever_evaluator(assistant: Assistant) -> None:
    """Our doc_hit_at_k and reciprocal_rank over passage doc ids equal llama-index's hit_rate and mrr over
    node ids, when every chunk of a supporting article counts as an expected node: the first relevant
    chunk's rank is the first supporting-doc passage's rank."""
    k = assistant.settings.top_k
    chunks_of: dict[str, list[str]] = defaultdict(list)  # doc stem -> node ids of all its chunks
    for node in assistant.store.all_nodes():
        chunks_of[doc_stem(str(node.metadata["doc_id"]))].append(node.node_id)
    assistant.retriever.top_k = k  # what `retrieve()` (the path RetrieverEvaluator takes) returns
    retriever = assistant.retriever.as_llama_retriever()
    evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=retriever)

    ours: dict[str, list[float]] = {"hit_rate": [], "mrr": []}
    theirs: dict[str, list[float]] = {"hit_rate": [], "mrr": []}
    items = [g for g in load_gold(GOLD) if g.answerable]
    for item in items:
        passages = assistant.retrieve(item.question, k)
        expected = [node_id for stem in item.supporting_docs for node_id in chunks_of[stem]]
        assert expected, f"{item.id}: no chunks indexed for {item.supporting_docs}"
        result = evaluator.evaluate(query=item.question, expected_ids=expected)
        # Same run: the evaluator saw exactly the passages our metrics scored.
        assert result.retrieved_ids == [p.node.node_id for p in passages], item.id
        doc_ids = [p.doc_id for p in passages]
        ours["hit_rate"].append(doc_hit_at_k(item, doc_ids, k))
        ours["mrr"].append(reciprocal_rank(item, doc_ids))
        for name in theirs:
            theirs[name].append(result.metric_vals_dict[name])
        assert ours["hit_rate"][-1] == theirs["hit_rate"][-1], item.id
        assert ours["mrr"][-1] == pytest.approx(theirs["mrr"][-1]), item.id

    assert len(ours["mrr"]) == len(items) > 40
    for name in ours:
        assert statistics.fmean(ours[name]) == pytest.approx(statistics.fmean(theirs[name]))


# ------------------------------------------------------------------------------ `rag eval` via the CLI


@pytest.fixture(scope="module")
def cli_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RAG_DATA_DIR for the CLI runs, so the second run reuses the index the first one built."""
    return tmp_path_factory.mktemp("cli-data")


def rag_eval(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m rag eval ARGS` as a user would: offline (no OPENAI_* or other RAG_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "rag", "eval", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)


def test_rag_eval_writes_table_and_reports(cli_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = rag_eval(cli_data_dir, "--limit", "8", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["type", "n", "acc", "F1"]
    overall = next(line for line in lines if line.startswith("overall"))
    assert overall.split()[1] == "8"
    assert f"reports: {out / 'report.json'} and {out / 'report.html'}" in proc.stdout

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    gold = load_gold(GOLD)[:8]
    assert [r["id"] for r in report["results"]] == [g.id for g in gold]
    for r in report["results"]:
        assert isinstance(r["answer"], str) and r["answer"]
        assert isinstance(r["citations"], list)
        assert {"correct", "refused", "k"} <= set(r["verdicts"])
        assert set(r["timings"]) == {"retrieve", "generate"}
    assert report["summary"]["n"] == 8
    assert report["run"]["mode"] == "extractive"
    # An offline extractive answer cites its passages: at least one question here is answered with citations.
    assert any(r["citations"] for r in report["results"])

    html = (out / "report.html").read_text(encoding="utf-8")
    for g in gold:
        assert escape(g.question) in html, g.id


def test_rag_eval_missed_threshold_exits_1(cli_data_dir: Path, tmp_path: Path) -> None:
    proc = rag_eval(cli_data_dir, "--limit", "3", "--out", str(tmp_path / "out"), "--quiet", "--min-answer", "1.01")
    assert proc.returncode == 1, proc.stderr
    failed = [line for line in proc.stderr.splitlines() if line.startswith("FAILED:")]
    assert len(failed) == 1
    assert "answer accuracy" in failed[0] and "--min-answer 1.01" in failed[0]
    assert "overall" in proc.stdout  # the table is still printed before the verdict


def test_rag_eval_bad_gold_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    good = GOLD.read_text(encoding="utf-8").splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n" + '{"id": "broken", "question": \n', encoding="utf-8")
    proc = rag_eval(tmp_path / "data", "--gold", str(bad), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert f"{bad}:2" in proc.stderr and "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # it stopped before answering anything


def test_rag_eval_rejects_an_empty_selection(cli_data_dir: Path, tmp_path: Path) -> None:
    run = rag_eval(cli_data_dir, "--limit", "0", "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "--limit must be at least 1" in run.stderr and "Traceback" not in run.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    run = rag_eval(cli_data_dir, "--gold", str(empty), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "no questions" in run.stderr and "Traceback" not in run.stderr


def test_help_imports_none_of_the_heavy_libraries() -> None:
    # `rag --help` must answer at once: the parser is built without the model, the stores or the eval.
    import subprocess
    import sys

    probe = ("import sys; from rag.cli import build_parser; text = build_parser().format_help(); "
             "heavy = ('llama_index', 'chromadb', 'onnxruntime', 'gradio', 'openai', 'dateparser', 'tqdm'); "
             "print('ask' in text and 'eval' in text, sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True []", out
    help_text = subprocess.run([sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, check=True)
    assert "ingest" in help_text.stdout and "RAG_DATA_DIR" in help_text.stdout
