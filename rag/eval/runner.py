"""`rag eval`: ask every gold question through the real assistant, score it, and write the reports."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from rag.errors import RagError
from rag.eval.gold import GoldItem
from rag.eval.judge import LexicalJudge, SupportJudge
from rag.eval.metrics import QuestionResult, load_prices, result_from_answer, summarize
from rag.prompts import render_prompt
from rag.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from rag.assistant import Assistant


@dataclass
class LLMJudge:
    """`--judge llm`: the configured OpenAI(-compatible) model answers yes/no per claim (prompts/judge.txt)."""

    settings: Settings

    def supports(self, claim: str, evidence: str) -> bool:
        from rag.answer.llm import complete, make_client

        prompt = render_prompt(self.settings.prompts_dir, "judge", claim=claim, evidence=evidence)
        reply, _ = complete(make_client(self.settings), self.settings, [{"role": "user", "content": prompt}],
                            max_tokens=3)
        return parse_verdict(reply)


def parse_verdict(reply: str) -> bool:
    """The judge's one-word answer: "yes" (any case, punctuation after it) supports, anything else not."""
    words = reply.strip().lower().split()
    return bool(words) and words[0].strip(".,!:;\"'") == "yes"


def make_judge(kind: str, assistant: Assistant) -> SupportJudge:
    """The support checker for citation metrics: lexical+embedding offline, or the configured LLM."""
    if kind == "llm":
        if not (assistant.settings.openai_api_key or assistant.settings.openai_base_url):
            raise RagError("--judge llm needs an LLM: set OPENAI_API_KEY or OPENAI_BASE_URL.")
        return LLMJudge(assistant.settings)
    return LexicalJudge(embed=assistant.embedder.get_text_embedding_batch)


def run(assistant: Assistant, gold: Sequence[GoldItem], *, k: int, llm: str | None, judge: SupportJudge,
        progress: bool = True) -> tuple[dict[str, Any], list[QuestionResult]]:
    """Answer and score every gold item; returns the summary and the per-question results."""
    results = []
    for item in tqdm(gold, desc="Evaluating", unit="question", disable=not progress):
        answer = assistant.ask(item.question, k=k, llm=llm, as_of=item.as_of)
        results.append(result_from_answer(item, answer, k=k, judge=judge))
    model = assistant.settings.openai_model if results and results[0].mode == "openai" else None
    prices_path = PROJECT_ROOT / "eval" / "prices.json"
    prices = load_prices(prices_path) if prices_path.exists() else {}
    base_url = assistant.settings.openai_base_url
    if base_url and "api.openai.com" not in base_url:
        prices = {}  # a local or third-party server: OpenAI's list price would be a made-up cost
    return summarize(results, model=model, prices=prices), results


def eval_settings(settings: Settings, corpus: Path | None = None) -> Settings:
    """The eval gets its own index, so the user's own articles never skew the scores: of the seeds by
    default, or of `corpus`, cached under a key of its content, the pipeline version and the settings
    that shape the index (`corpus_key`), so a second run over the same folder embeds nothing."""
    if corpus is None:
        return settings.with_(data_dir=settings.data_dir / "eval", collection="eval_seeds")
    # seeds_dir is what an empty index is first built from: the corpus, never the seeds mixed into it.
    return settings.with_(data_dir=settings.data_dir / "eval" / "corpora" / corpus_key(corpus, settings),
                          collection="eval_corpus", seeds_dir=corpus)


def corpus_key(corpus: Path, settings: Settings) -> str:
    """A short hash of every file under `corpus` (names and bytes), the pipeline version and the index
    settings (embedding model, chunk size and overlap): a new key means a new index."""
    from rag.ingest.embed import embedder_name
    from rag.ingest.pipeline import PIPELINE_VERSION

    if not corpus.is_dir():
        raise RagError(f"--corpus {corpus} is not a folder of articles.")
    digest = hashlib.sha256(f"v{PIPELINE_VERSION}:{embedder_name(settings)}:{settings.chunk_size}/"
                            f"{settings.chunk_overlap}\n".encode())
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(corpus).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def evaluate(gold: Sequence[GoldItem], *, settings: Settings, corpus: Path | None = None, k: int | None = None,
             llm: str | None = None, judge: str = "lexical",
             progress: bool = True) -> tuple[dict[str, Any], list[QuestionResult]]:
    """Score `gold` over the eval's own index of `corpus` (default: the seeds), built or brought in step
    first (incrementally: only new or changed articles are embedded). What `rag eval` runs."""
    from rag.assistant import Assistant

    assistant = Assistant(eval_settings(settings, corpus))
    # Never score chunks an older version of the pipeline made: ingest is a no-op when all is current.
    assistant.ingest(assistant.settings.seeds_dir, progress=progress)
    return run(assistant, gold, k=k or settings.top_k, llm=llm or settings.resolved_llm,
               judge=make_judge(judge, assistant), progress=progress)


TABLE_COLUMNS = (("n", "n"), ("correct", "acc"), ("f1", "F1"), ("answer_recall_at_1", "ansR@1"),
                 ("answer_recall_at_3", "ansR@3"), ("answer_recall_at_k", "ansR@k"), ("reciprocal_rank", "MRR"),
                 ("citation_hit", "citHit"), ("citation_precision_docs", "citPrec"),
                 ("citation_recall", "ALCE-R"), ("citation_precision", "ALCE-P"))


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a fixed-width table: one row per question type, then overall."""
    header = f"{'type':<13}" + "".join(f"{label:>8}" for _, label in TABLE_COLUMNS)
    rows = [header, "-" * len(header)]
    blocks = list(summary["by_type"].items()) + [("overall", summary["overall"])]
    for name, block in blocks:
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = block.get(key)
            cells.append(f"{value:>8}" if key == "n" else f"{'-' if value is None else f'{value:.2f}':>8}")
        rows.append(f"{name:<13}" + "".join(cells))
    refusal = summary["refusal"]
    rows.append("")
    rows.append(f"refusals: {_pct(refusal['unanswerable_refused'])} of unanswerable refused, "
                f"{_pct(refusal['answerable_refused'])} of answerable wrongly refused")
    for stage, lat in summary["latency"].items():
        rows.append(f"latency {stage}: p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms")
    usage = summary["usage"]
    if usage["total_tokens"]:
        cost = "unknown" if usage["cost_usd"] is None else f"${usage['cost_usd']:.4f}"
        rows.append(f"tokens: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion "
                    f"({usage['model']}), estimated cost {cost}")
    return "\n".join(rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"
