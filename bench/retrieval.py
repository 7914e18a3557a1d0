"""Retrieval benchmark: our hybrid retriever against a plain llama-index pipeline, in one run.

    python bench/retrieval.py [--k 5] [--rounds 3] [--out bench/results/retrieval.json]

Both sides index the same cleaned articles (rag.ingest.load over seeds/) with the same MiniLM embedder into a
fresh Chroma directory, and answer the answerable questions of eval/gold.jsonl:

- baseline: llama-index's own pipeline as its docs show it: SentenceSplitter(chunk_size=256,
  chunk_overlap=20) -> VectorStoreIndex over a ChromaVectorStore -> index.as_retriever(similarity_top_k=k).
- ours: `Assistant(Settings(data_dir=tmp)).retrieve(question, k)` (sentence-aligned chunks, dense + BM25
  fused by RRF, per-article cap).

Reported for each: DPR answer recall@1/@3/@k, doc hit@k and MRR (rag.eval.metrics; @1 and @3 are prefixes of
the top k, as in `rag eval`), retrieval latency p50/p95 per query (after one warm-up query, over `rounds`
passes of the gold set), and ingest throughput (load + split + embed + store, and our BM25 build; the
median of `ingest_rounds` fresh builds, after a warm-up that pays the one-off costs both sides share:
tokenizer, model and Chroma start-up). The ratio column is ours / baseline. Wall-clock figures depend on
the machine: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import chromadb
import llama_index.core.settings as li_settings
from chromadb.config import Settings as ChromaSettings
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.utils import get_tokenizer
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.assistant import Assistant
from rag.eval.gold import GoldItem, load_gold
from rag.eval.metrics import answer_recall_at_k, doc_hit_at_k, percentile, reciprocal_rank
from rag.ingest.llama_embedding import MiniLMEmbedding
from rag.ingest.load import load_path
from rag.settings import PROJECT_ROOT, Settings

OUR_KNOBS = ("chunk_size", "chunk_overlap", "dense_weight", "bm25_weight", "rrf_k", "fetch_k", "per_doc_cap")
Retrieve = Callable[[str], tuple[list[str], list[str]]]  # question -> (doc ids, passage texts), rank order


@dataclass
class SystemRun:
    """One retrieval system's figures on the gold set."""

    name: str
    ingest_s: float
    chunks: int
    articles: int
    metrics: dict[str, float] = field(default_factory=dict)
    latency_ms: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        """The figures the table shows, by row label."""
        return {
            **self.metrics,
            "latency p50 (ms)": percentile(self.latency_ms, 50),
            "latency p95 (ms)": percentile(self.latency_ms, 95),
            "chunks indexed": float(self.chunks),
            "ingest (s)": self.ingest_s,
            "ingest (chunks/s)": self.chunks / self.ingest_s,
        }


def warm_up(seeds: Path, scratch: Path) -> None:
    """Pay the once-per-process costs before any timing, so whichever system runs first is not charged
    for them: the cleaner's first load, tiktoken's vocabulary, the first Chroma client."""
    load_path(seeds)
    get_tokenizer()("warm-up")
    chromadb.PersistentClient(str(scratch), settings=ChromaSettings(anonymized_telemetry=False)).heartbeat()


def build_baseline(seeds: Path, index_dir: Path, k: int, embed: MiniLMEmbedding) -> tuple[Retrieve, SystemRun]:
    """The plain llama-index pipeline; every model is passed explicitly, never taken from llama-index's
    global `Settings` (whose lazy default would be OpenAI's embedder)."""
    t0 = time.perf_counter()
    articles = load_path(seeds).articles
    documents = [
        # "article" rather than "doc_id": llama-index writes ref_doc_id into a "doc_id" metadata key itself.
        Document(text=a.text, id_=a.doc_id, metadata={"article": a.doc_id},
                 excluded_embed_metadata_keys=["article"], excluded_llm_metadata_keys=["article"])
        for a in articles
    ]
    nodes = SentenceSplitter(chunk_size=256, chunk_overlap=20).get_nodes_from_documents(documents)
    client = chromadb.PersistentClient(str(index_dir), settings=ChromaSettings(anonymized_telemetry=False))
    vector_store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    storage = StorageContext.from_defaults(vector_store=vector_store)
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed, show_progress=False)
    ingest_s = time.perf_counter() - t0
    retriever = index.as_retriever(similarity_top_k=k)
    assert retriever._embed_model is embed  # the query side uses our MiniLM too, not a global default

    def retrieve(question: str) -> tuple[list[str], list[str]]:
        hits = retriever.retrieve(question)
        return [str(h.node.metadata["article"]) for h in hits], [h.node.get_content() for h in hits]

    return retrieve, SystemRun("baseline", ingest_s, len(nodes), len(articles))


def build_ours(data_dir: Path, k: int) -> tuple[Retrieve, SystemRun]:
    """Our pipeline: the Assistant's index of seeds/."""
    assistant = Assistant(Settings(data_dir=data_dir, llm="extractive"))
    assistant.embedder.get_text_embedding("warm-up")  # model load kept out of the ingest time
    t0 = time.perf_counter()
    assistant.ingest(assistant.settings.seeds_dir)
    chunks = assistant.store.count()
    assistant.retriever  # noqa: B018 -- the BM25 side is part of our index
    ingest_s = time.perf_counter() - t0
    articles = len({str(n.metadata["doc_id"]) for n in assistant.store.all_nodes()})

    def retrieve(question: str) -> tuple[list[str], list[str]]:
        passages = assistant.retrieve(question, k)
        return [p.doc_id for p in passages], [p.text for p in passages]

    return retrieve, SystemRun("ours", ingest_s, chunks, articles)


def measure(run: SystemRun, retrieve: Retrieve, gold: Sequence[GoldItem], k: int, rounds: int) -> None:
    """Fill `run` with quality metrics (first pass) and per-query latency (all passes)."""
    retrieve(gold[0].question)  # warm-up: first-query costs (BM25 load, onnx session) are not latency
    scores: dict[str, list[float]] = {}
    for round_ in range(rounds):
        for item in gold:
            t0 = time.perf_counter()
            doc_ids, texts = retrieve(item.question)
            run.latency_ms.append(1000 * (time.perf_counter() - t0))
            if round_:
                continue
            for name, value in (
                ("answer recall@1", answer_recall_at_k(item, texts, 1)),
                ("answer recall@3", answer_recall_at_k(item, texts, min(3, k))),
                (f"answer recall@{k}", answer_recall_at_k(item, texts, k)),
                (f"doc hit@{k}", doc_hit_at_k(item, doc_ids, k)),
                ("MRR", reciprocal_rank(item, doc_ids)),
            ):
                scores.setdefault(name, []).append(value)
    run.metrics = {name: statistics.fmean(values) for name, values in scores.items()}


def markdown_table(baseline: SystemRun, ours: SystemRun) -> str:
    """Rows = figures, columns = baseline, ours and ours/baseline."""
    b, o = baseline.row(), ours.row()
    lines = ["| metric | baseline (llama-index) | ours | ours / baseline |", "|---|---:|---:|---:|"]
    for name in b:
        ratio = f"{o[name] / b[name]:.2f}" if b[name] else "-"
        fmt = ".0f" if name == "chunks indexed" else ".3f" if b[name] < 10 else ".1f"
        lines.append(f"| {name} | {b[name]:{fmt}} | {o[name]:{fmt}} | {ratio} |")
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    packages = ("llama-index-core", "chromadb", "onnxruntime", "datasketch")
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "packages": {p: version(p) for p in packages},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run both systems, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=5, help="passages per question (default 5, as RAG_TOP_K)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the gold set for latency")
    parser.add_argument("--ingest-rounds", type=int, default=3, help="fresh index builds per system (median)")
    parser.add_argument("--gold", type=Path, default=PROJECT_ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args(argv)
    gold = [g for g in load_gold(args.gold) if g.answerable]  # retrieval metrics do not apply otherwise

    seeds = PROJECT_ROOT / "seeds"
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        warm_up(seeds, Path(tmp) / "warm-up")
        embed = MiniLMEmbedding(embed_batch_size=32)  # model load kept out of the ingest time, as for ours
        embed.get_text_embedding("warm-up")
        builds = [build_baseline(seeds, Path(tmp) / f"baseline-{i}", args.k, embed) for i in range(args.ingest_rounds)]
        base_retrieve, baseline = builds[-1]
        baseline.ingest_s = statistics.median(run.ingest_s for _, run in builds)
        measure(baseline, base_retrieve, gold, args.k, args.rounds)
        builds = [build_ours(Path(tmp) / f"ours-{i}", args.k) for i in range(args.ingest_rounds)]
        our_retrieve, ours = builds[-1]
        ours.ingest_s = statistics.median(run.ingest_s for _, run in builds)
        measure(ours, our_retrieve, gold, args.k, args.rounds)
    # Nothing above may have resolved llama-index's global defaults (OpenAI embedder / LLM).
    assert li_settings.Settings._embed_model is None and li_settings.Settings._llm is None

    table = markdown_table(baseline, ours)
    print(f"Retrieval on {args.gold.name}: {len(gold)} answerable questions, k={args.k}, "
          f"{baseline.articles} articles, latency over {args.rounds} passes, ingest median of "
          f"{args.ingest_rounds} builds\n")
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "gold": str(args.gold.relative_to(PROJECT_ROOT) if args.gold.is_relative_to(PROJECT_ROOT) else args.gold),
        "questions": len(gold),
        "k": args.k,
        "rounds": args.rounds,
        "ingest_rounds": args.ingest_rounds,
        "baseline": {"pipeline": "SentenceSplitter(256, 20) + VectorStoreIndex(Chroma) + MiniLM", **baseline.row()},
        "ours": {"pipeline": "rag.Assistant.retrieve (dense + BM25, RRF, per-article cap)",
                 "settings": {key: getattr(Settings(), key) for key in OUR_KNOBS}, **ours.row()},
        "ratio_ours_over_baseline": {n: (o / b if b else None) for (n, b), o in
                                     zip(baseline.row().items(), ours.row().values(), strict=True)},
        "environment": environment(),
        "table_markdown": table,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
