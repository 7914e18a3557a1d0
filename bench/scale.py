"""Scale benchmark on real news: the RealTimeQA 2022-2023 weeks' articles at 10k and 100k chunks.

    nice python bench/scale.py --repo /work/.mirror/realtimeqa+realtimeqa_public/repo [--real 10000]
        [--total 100000] [--server] [--out bench/results/scale.json]

Corpus: every article of the ``past/2022`` and ``past/2023`` ``*_gcs.jsonl`` files (deduplicated by URL),
written to a temp folder as .txt files with a sidecar (title, outlet = the URL's host, url, published).
Never committed. Questions: the same weeks' quiz questions.

1. Real ingest (`rag ingest`'s code path, the real embedder) of the first articles until about `--real`
   chunks: chunks/s.
2. Measure: cold `rag ask` (a fresh `python -m rag ask` process, wall time), warm ask p50/p95 and peak
   RSS of one serving process (an Assistant answering 20 questions), and the disk size of the data dir.
3. Grow to `--total` chunks WITHOUT embedding: more real articles are split and recorded exactly as ingest
   records them (real texts, real lexical index, real catalogue), but each new chunk's vector is one of the
   real vectors of step 1 plus Gaussian noise (sigma 0.02 per dimension, re-normalised). The embedder
   runs at ~30 chunks/s on this shared 2-core machine, so 90k real embeddings (~50 min) were not
   affordable. Dense results at that size are therefore meaningful for latency and memory, not quality.
4. Measure again; with `--server`, also over `chroma run` serving the same Chroma folder.

Each serving probe runs twice: as shipped, and with RAG_RERANK=0 (no sentence reranker), because the
reranker embeds the ~100 sentences of the 20 fused candidates per question, a cost fixed per question
that dwarfs the index lookups on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # this checkout's `rag`, not whichever one is installed
WEEKS = ("past/2022", "past/2023")  # development weeks only: later ones are held out


def git_show(repo: Path, path: str) -> str:
    """A file of the bare RealTimeQA repository."""
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True, capture_output=True,
                          text=True).stdout


def week_files(repo: Path, suffix: str) -> list[str]:
    """Paths of the 2022-2023 week files ending with `suffix`, oldest first."""
    names = []
    for folder in WEEKS:
        out = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", f"HEAD:{folder}"], check=True,
                             capture_output=True, text=True).stdout.split()
        names += [f"{folder}/{n}" for n in out if n.endswith(suffix)]
    return sorted(names)


def articles(repo: Path) -> Iterator[dict[str, Any]]:
    """Unique (by URL) articles with text, in week order."""
    seen: set[str] = set()
    for path in week_files(repo, "_gcs.jsonl"):
        for line in git_show(repo, path).splitlines():
            row = json.loads(line)
            for result in row.get("search_result") or []:
                url, text = result.get("url"), (result.get("text") or "").strip()
                if url and url not in seen and len(text) > 400:
                    seen.add(url)
                    yield result


def questions(repo: Path, n: int) -> list[str]:
    """The first `n` quiz questions of the weeks (spread over them)."""
    qs = [json.loads(line)["question_sentence"] for path in week_files(repo, "_qa.jsonl")
          for line in git_show(repo, path).splitlines()[:2]]
    return qs[:: max(1, len(qs) // n)][:n]


def write_article(folder: Path, i: int, result: dict[str, Any]) -> None:
    """One article file and its sidecar."""
    name = f"a{i:06d}"
    (folder / f"{name}.txt").write_text(result["text"], encoding="utf-8")
    meta = {"title": result.get("title"), "url": result["url"], "outlet": urlparse(result["url"]).hostname}
    published = str(result.get("publish_date") or "")[:10]
    if len(published) == 10 and published[4] == "-":
        meta["published"] = published
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")


def du(path: Path) -> int:
    """Bytes under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- serving measurements (run in a child process, so RSS and cold start are the server's own) ----------

def serve_probe(qs: list[str]) -> dict[str, Any]:
    """In this process: open an Assistant, ask each question, report latencies and peak RSS."""
    from rag.assistant import Assistant

    t0 = time.perf_counter()
    assistant = Assistant()
    assistant.ask(qs[0])
    first = time.perf_counter() - t0
    times, retrieve = [], []
    for q in qs[1:]:
        t = time.perf_counter()
        answer = assistant.ask(q)
        times.append(time.perf_counter() - t)
        retrieve.append(answer.timings["retrieve"])  # the index work, without the answerer's sentence scoring
    return {"first_ask_s": first, **percentiles("warm", times), **percentiles("retrieve", retrieve),
            "warm_n": len(times), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def percentiles(name: str, seconds: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    return {f"{name}_p50_ms": 1000 * statistics.median(ordered),
            f"{name}_p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))]}


def measure(env: dict[str, str], qs: list[str], rerank: bool) -> dict[str, Any]:
    """Cold `rag ask` in a fresh process, then one serving process's warm latencies and peak RSS."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag", "ask", qs[0]], env=env | ({} if rerank else {"RAG_RERANK": "0"}),
                   cwd=PROJECT_ROOT, check=True,
                   capture_output=True)
    cold = time.perf_counter() - t0
    result: dict[str, Any] = {"cold_ask_s": cold}
    # Twice: as shipped, and without the sentence reranker (RAG_RERANK=0), whose per-question cost is the
    # embedding of ~100 candidate sentences and does not depend on the corpus size.
    probes = [("", {}), ("no_rerank_", {"RAG_RERANK": "0"})] if rerank else [("no_rerank_", {"RAG_RERANK": "0"})]
    for name, extra in probes:
        out = subprocess.run([sys.executable, __file__, "--probe", json.dumps(qs)], env=env | extra,
                             cwd=PROJECT_ROOT, check=True, capture_output=True, text=True).stdout
        result |= {name + key: value for key, value in json.loads(out.strip().splitlines()[-1]).items()}
    return result


# --- growing the index with reused vectors ------------------------------------------------------------------

def grow(assistant: Any, folder: Path, source: Iterator[dict[str, Any]], total: int, start: int,
         rng: random.Random) -> tuple[int, int]:
    """Record more real articles with perturbed copies of stored vectors until `total` chunks; returns
    (articles added, vectors reused)."""
    import numpy as np

    from rag.ingest.load import load_path
    from rag.ingest.pipeline import annotate_dates, article_record, record_article
    from rag.ingest.split import split_article
    from rag.ingest.syndication import StoryGroups

    store = assistant.store
    groups = StoryGroups.load(store.catalog)
    pool = store.collection.get(include=["embeddings"], limit=20000)["embeddings"]
    pool = np.asarray(pool, dtype=np.float32)
    settings = assistant.settings
    origin = str(folder.resolve())
    added = reused = 0
    count = store.count()
    i = start
    while count < total:
        batch = folder / f"grow{i}"
        batch.mkdir()
        for _ in range(200):
            write_article(batch, i, next(source))
            i += 1
        for article in load_path(batch).articles:
            nodes = split_article(article, settings.chunk_size, settings.chunk_overlap)
            for node in nodes:
                annotate_dates(node, article)
            record = article_record(origin, article, nodes, settings)
            new = store.unembedded([c.chunk_id for c in record.chunks])
            if new:
                vecs = pool[rng.integers(0, len(pool), len(new))] + rng.normal(0, 0.02, (len(new), pool.shape[1]))
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                store.add_vectors(new, vecs.astype(np.float32).tolist())
            record_article(store, groups, origin, article, nodes, settings)  # as ingest records it
            added += 1
            reused += len(new)
            count += len(new)
        shutil.rmtree(batch)
    return added, reused


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_measure(data: Path, env: dict[str, str], qs: list[str], settings: Any, rerank: bool) -> dict[str, Any]:
    """The same index served by `chroma run`: its catalogue copied where RAG_CHROMA_URL looks for it."""
    from rag.ingest.store import catalog_path

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    remote = catalog_path(settings.with_(chroma_url=url))
    remote.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(catalog_path(settings), remote)
    chroma = shutil.which("chroma") or "chroma"
    server = subprocess.Popen([chroma, "run", "--path", str(settings.index_dir), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        result = measure(env | {"RAG_CHROMA_URL": url}, qs, rerank)
        status = Path(f"/proc/{server.pid}/status").read_text()
        result["server_rss_mb"] = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)
        remote.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the corpus, ingest, measure, grow, measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("/work/.mirror/realtimeqa+realtimeqa_public/repo"))
    parser.add_argument("--real", type=int, default=10_000, help="chunks embedded for real")
    parser.add_argument("--total", type=int, default=100_000, help="chunks after growing with reused vectors")
    parser.add_argument("--server", action="store_true", help="also measure the grown index over `chroma run`")
    parser.add_argument("--rerank", action="store_true",
                        help="also probe with the sentence reranker on (slow: it embeds ~100 sentences a question)")
    parser.add_argument("--questions", type=int, default=13, help="questions per serving probe (first is cold)")
    parser.add_argument("--keep", type=Path, default=None, help="build the index here and keep it")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--resume", type=int, default=0, metavar="N",
                        help="with --keep: the index holds the first N articles; grow it further")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(serve_probe(json.loads(args.probe))))
        return 0


    from rag.assistant import Assistant
    from rag.settings import Settings

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    data, folder = tmp / "data", tmp / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data, seeds_dir=tmp / "no-seeds", llm="extractive")
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_SEEDS_DIR": str(tmp / "no-seeds"), "RAG_LLM": "extractive"}
    qs = questions(args.repo, args.questions)
    source = articles(args.repo)
    assistant = Assistant(settings)
    assistant.embedder.get_text_embedding("warm-up")
    results: dict[str, Any] = {"questions": len(qs), "steps": []}

    if args.resume:  # a --keep index grown further: skip the articles it holds, no real ingest or first probe
        n = args.resume
        for _ in range(n):
            next(source)
        results["steps"].append({"chunks": assistant.store.count(), "resumed_after_articles": n})
        return finish(args, results, assistant, folder, source, n, env, qs, data, settings)
    # 1. real ingest, an article at a time until about `real` chunks
    real = folder / "real"
    real.mkdir(exist_ok=True)  # with --keep, a second run reuses what the first embedded
    n = 0
    while True:
        for _ in range(max(1, args.real // 40)):  # ~25-40 chunks per article
            write_article(real, n, next(source))
            n += 1
        t0 = time.perf_counter()
        report = assistant.ingest(real, progress=True)
        results.setdefault("ingest", []).append({"seconds": time.perf_counter() - t0,
                                                 "chunks": report.chunks_embedded,
                                                 "articles": len(report.added)})
        if assistant.store.count() >= args.real:
            break
    ing = results["ingest"]
    results["ingest_chunks_per_s"] = sum(r["chunks"] for r in ing) / sum(r["seconds"] for r in ing)
    step = {"chunks": assistant.store.count(), "articles": n, "vectors": "all real",
            "embedded": measure(env, qs, args.rerank), "disk_mb": du(data) / 1e6}
    results["steps"].append(step)
    print(json.dumps(step, indent=1), flush=True)

    return finish(args, results, assistant, folder, source, n, env, qs, data, settings)


def finish(args: argparse.Namespace, results: dict[str, Any], assistant: Any, folder: Path,
           source: Iterator[dict[str, Any]], n: int, env: dict[str, str], qs: list[str], data: Path,
           settings: Any) -> int:
    """Grow the index with reused vectors, measure it, write the JSON."""
    import numpy as np

    # 2. grow with real texts and reused vectors
    if args.total > assistant.store.count():
        added, reused = grow(assistant, folder, source, args.total, n, np.random.default_rng(0))
        step = {"chunks": assistant.store.count(), "articles": n + added,
                "vectors": f"{reused} chunks added with a reused real vector + noise (sigma 0.02) on an index "
                           f"of {results['steps'][0]['chunks']} chunks",
                "embedded": measure(env, qs, args.rerank), "disk_mb": du(data) / 1e6}
        if args.server:
            step["server"] = server_measure(data, env, qs, settings, args.rerank)
        results["steps"].append(step)
        print(json.dumps(step, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
