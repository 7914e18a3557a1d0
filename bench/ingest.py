"""Ingest benchmark: throughput of the real pipeline, and what incremental re-ingest saves.

    python bench/ingest.py [--copies 10] [--out bench/results/ingest.json]

Makes a folder of `copies` x the seed articles (each seed and its sidecar copied as NAME_cNN.txt,
NAME_cNN.meta.json: 50 articles by default), then times `Assistant.ingest(folder)` three times against one
index in a temp dir:

1. fresh: an empty index, every article loaded, split, embedded and stored;
2. unchanged: the same folder again, so every article should be recognised by its content hash and
   nothing embedded;
3. one edited: one article's text changed, so exactly that article is embedded again.

Reports seconds, articles/s and chunks/s of each, and the fresh / re-ingest time ratio (how many times
faster an unchanged re-ingest is). One-off costs (model load, tokenizer) are paid before timing.
Compare ratios, not times: they depend on the machine.

Then, in the same run, the raw embedder alone on exactly the texts the fresh ingest embedded (in the
order the articles give them, batch size as configured): ingest chunks/s over raw chunks/s is the share of
the model's speed the whole pipeline (load, clean, split, date resolution, stores) keeps. Copies of the
seeds share their chunk texts, which are embedded once; `--realtimeqa REPO` takes distinct real articles
from the RealTimeQA 2022-2023 weeks instead (`--articles N`), for a ratio over distinct text.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from llama_index.core.utils import get_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's `rag`, not an installed one

from rag.assistant import Assistant  # noqa: E402
from rag.ingest.load import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES, load_path
from rag.ingest.pipeline import IngestReport
from rag.settings import PROJECT_ROOT, Settings


def make_corpus(seeds: Path, folder: Path, copies: int) -> list[Path]:
    """Copy every seed article (and its sidecar) `copies` times with a _cNN suffix; returns the articles."""
    folder.mkdir(parents=True)
    articles = sorted(p for p in seeds.iterdir() if p.suffix in SUPPORTED_SUFFIXES
                      and not p.name.endswith(SIDECAR_SUFFIX) and p.stem.lower() != "readme")
    made = []
    for n in range(copies):
        for src in articles:
            dst = folder / f"{src.stem}_c{n:02d}{src.suffix}"
            shutil.copyfile(src, dst)
            sidecar = src.with_name(src.stem + SIDECAR_SUFFIX)
            if sidecar.exists():
                shutil.copyfile(sidecar, dst.with_name(dst.stem + SIDECAR_SUFFIX))
            made.append(dst)
    return made


def realtimeqa_corpus(repo: Path, folder: Path, n: int) -> list[Path]:
    """The first `n` distinct RealTimeQA 2022-2023 articles, as files with sidecars (never committed)."""
    from bench.scale import articles, write_article

    folder.mkdir(parents=True)
    for i, result in zip(range(n), articles(repo), strict=False):
        write_article(folder, i, result)
    return sorted(folder.glob("*.txt"))


def raw_embed_rate(assistant: Assistant, texts: list[str]) -> float:
    """Chunks/s of the embedder alone on `texts`."""
    t0 = time.perf_counter()
    assistant.embedder.get_text_embedding_batch(texts)
    return len(texts) / (time.perf_counter() - t0)


def embedded_texts(assistant: Assistant) -> list[str]:
    """The texts the pipeline gave the model for every stored chunk, in article order."""
    from llama_index.core.schema import MetadataMode

    from rag.ingest.split import to_text_node

    return [to_text_node(n).get_content(metadata_mode=MetadataMode.EMBED) for n in assistant.store.all_nodes()]


def timed_ingest(assistant: Assistant, folder: Path) -> tuple[float, IngestReport]:
    """Seconds one `Assistant.ingest` of `folder` takes, with its report."""
    t0 = time.perf_counter()
    report = assistant.ingest(folder)
    return time.perf_counter() - t0, report


def row(name: str, seconds: float, report: IngestReport, articles: int) -> dict[str, Any]:
    """One line of the table: what was done and how fast, per article seen and per chunk embedded."""
    return {
        "run": name,
        "seconds": seconds,
        "articles": articles,
        "embedded_articles": len(report.added) + len(report.updated),
        "unchanged_articles": len(report.unchanged),
        "chunks_embedded": report.chunks_embedded,
        "articles_per_s": articles / seconds,
        "chunks_per_s": report.chunks_embedded / seconds,
    }


def markdown_table(rows: list[dict[str, Any]], speedup: float) -> str:
    """The runs as a markdown table, then the re-ingest speed-up."""
    lines = ["| run | seconds | articles | embedded | unchanged | chunks embedded | articles/s | chunks/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['seconds']:.2f} | {r['articles']} | {r['embedded_articles']} | "
                     f"{r['unchanged_articles']} | {r['chunks_embedded']} | {r['articles_per_s']:.1f} | "
                     f"{r['chunks_per_s']:.1f} |")
    lines.append("")
    lines.append(f"unchanged re-ingest is {speedup:.1f}x faster than the fresh ingest (fresh s / re-ingest s)")
    return "\n".join(lines)


def result_corpus(args: argparse.Namespace) -> str:
    """What was ingested, in words."""
    if args.realtimeqa:
        return f"RealTimeQA 2022-2023, first {args.articles} distinct"
    return f"{args.copies} copies of the seeds"


def main(argv: Sequence[str] | None = None) -> int:
    """Build the corpus, run the three ingests, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the seeds (10 x 5 = 50 articles)")
    parser.add_argument("--realtimeqa", type=Path, default=None, help="RealTimeQA git dir: real articles instead")
    parser.add_argument("--articles", type=int, default=80, help="how many RealTimeQA articles")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="rag-bench-ingest-") as tmp:
        corpus = Path(tmp) / "articles"
        files = (realtimeqa_corpus(args.realtimeqa, corpus, args.articles) if args.realtimeqa
                 else make_corpus(PROJECT_ROOT / "seeds", corpus, args.copies))
        # No seeds_dir: the index must start empty rather than be built from seeds/ on first use.
        assistant = Assistant(Settings(data_dir=Path(tmp) / "data", seeds_dir=Path(tmp) / "no-seeds"))
        # One-off process costs are not ingest work: the model load, tiktoken's vocabulary, the cleaner's
        # first call. Without this the fresh run alone would pay them and the ratio would flatter us.
        assistant.embedder.get_text_embedding("warm-up")
        get_tokenizer()("warm-up")
        load_path(PROJECT_ROOT / "seeds")
        assert assistant.store.count() == 0

        fresh_s, fresh = timed_ingest(assistant, corpus)
        raw_rate = raw_embed_rate(assistant, embedded_texts(assistant))
        again_s, again = timed_ingest(assistant, corpus)
        files[0].write_text(files[0].read_text(encoding="utf-8") + "\n\nA correction was appended.\n",
                            encoding="utf-8")
        edit_s, edit = timed_ingest(assistant, corpus)

    n = len(files)
    # The incremental claim itself: if these fail, the timing below means nothing.
    assert len(fresh.added) == n and fresh.chunks_embedded > 0, fresh.summary()
    assert len(again.unchanged) == n and again.chunks_embedded == 0, again.summary()
    assert len(edit.updated) == 1 and len(edit.unchanged) == n - 1, edit.summary()

    rows = [row("fresh index", fresh_s, fresh, n), row("re-ingest, unchanged", again_s, again, n),
            row("re-ingest, 1 article edited", edit_s, edit, n)]
    speedup = fresh_s / again_s
    ratio = rows[0]["chunks_per_s"] / raw_rate
    table = markdown_table(rows, speedup) + (
        f"\nraw embedder on the same {fresh.chunks_embedded} chunk texts: {raw_rate:.1f} chunks/s; "
        f"fresh ingest keeps {ratio:.2f}x of it")
    print(f"Ingest of {n} articles ({result_corpus(args)})\n")
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "articles": n,
        "copies": args.copies,
        "runs": rows,
        "speedup_fresh_over_unchanged": speedup,
        "raw_embedder_chunks_per_s": raw_rate,
        "ingest_over_raw": ratio,
        "corpus": f"RealTimeQA {args.articles} articles" if args.realtimeqa else f"{args.copies} x seeds",
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "packages": {p: version(p) for p in ("chromadb", "onnxruntime", "llama-index-core")},
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "table_markdown": table,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
