"""Scale benchmark on real news: the RealTimeQA 2022-2023 weeks' articles at ~30k, 100k and 1M chunks.

    nice python bench/scale.py --start-from /work/rtqa/index-v4 --total 100000 --server --million 1000000
    nice python bench/scale.py --real 10000 --total 100000        # or start with a real ingest here

Corpus: every article of the ``past/2022`` and ``past/2023`` ``*_gcs.jsonl`` files (deduplicated by URL),
written to a temp folder as .txt files with a sidecar (title, outlet = the URL's host, url, published).
Never committed. Questions: the same weeks' quiz questions.

1. The real index: a copy of an index `rag ingest` built (`--start-from`, e.g. the RealTimeQA dev export
   of bench/realtimeqa.py), or a real ingest here of the first articles until about `--real` chunks.
2. Measure, as shipped: cold `rag ask` (a fresh `python -m rag ask` process, wall time), then one serving
   process's first ask, warm ask p50/p95 (and the retrieval part of each), peak RSS, and the data dir's size.
3. Grow to `--total` chunks WITHOUT embedding: more real articles are split and recorded exactly as ingest
   records them (real texts, real lexical index, real catalogue), but each new chunk's vector (and each of
   its sentence vectors) is a real one of step 1 plus Gaussian noise (sigma 0.02 per dimension,
   re-normalised): 70k real embeddings are ~40 min of this 2-core machine. Dense results at that size
   mean latency and memory, not quality. Measure again; with `--server`, also over `chroma run`.
4. With `--million N`: copy the grown index's rows (SQL) and vectors (perturbed) until about N chunks and
   measure retrieval latency and RSS there.

Ingest speed against the raw embedder is bench/ingest.py's job.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
COLD_RUNS = 3  # fresh `rag ask` processes per measurement


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
            "warm_n": len(times), "peak_rss_mb": peak_rss_mb(), "load_average": os.getloadavg()[0]}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that across fork and
    exec, so a probe started by a big parent would report the parent's peak."""
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024


def percentiles(name: str, seconds: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    return {f"{name}_p50_ms": 1000 * statistics.median(ordered),
            f"{name}_p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))]}


def measure(env: dict[str, str], qs: list[str], rerank: bool = True) -> dict[str, Any]:
    """Cold `rag ask` in a fresh process, then one serving process's warm latencies and peak RSS, as shipped
    (or with RAG_RERANK=0 when `rerank` is off)."""
    extra = {} if rerank else {"RAG_RERANK": "0"}
    runs = []
    for _ in range(COLD_RUNS):  # one start is at the mercy of whatever else the 2 cores do: take the median
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "ask", qs[0]], env=env | extra, cwd=PROJECT_ROOT, check=True,
                       capture_output=True)
        runs.append(time.perf_counter() - t0)
    result: dict[str, Any] = {"cold_ask_s": statistics.median(runs), "cold_ask_runs_s": runs}
    out = subprocess.run([sys.executable, __file__, "--probe", json.dumps(qs)], env=env | extra,
                         cwd=PROJECT_ROOT, check=True, capture_output=True, text=True).stdout
    return result | json.loads(out.strip().splitlines()[-1])


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
    from rag.text.sentences import sentence_spans

    store = assistant.store
    groups = StoryGroups.load(store.catalog)
    pool = store.collection.get(include=["embeddings"], limit=20000)["embeddings"]
    pool = np.asarray(pool, dtype=np.float32)
    sample = [str(r[0]) for r in store.catalog.conn.execute("SELECT chunk_id FROM sentences LIMIT 5000")]
    sentence_pool = np.concatenate([np.stack(list(v.values())) for v in store.sentence_vectors(sample).values() if v])
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
                texts = {c.chunk_id: c.text for c in record.chunks}
                sentences = []
                for cid in new:  # as ingest keeps them: one vector per sentence of the chunk
                    spans = sentence_spans(texts[cid])
                    svecs = sentence_pool[rng.integers(0, len(sentence_pool), len(spans))]
                    sentences.append((spans, svecs + rng.normal(0, 0.02, svecs.shape)))
                store.add_vectors(new, vecs.astype(np.float32).tolist(), sentences)
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


def server_measure(data: Path, env: dict[str, str], qs: list[str], settings: Any) -> dict[str, Any]:
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
        result = measure(env | {"RAG_CHROMA_URL": url}, qs)
        status = Path(f"/proc/{server.pid}/status").read_text()
        result["server_rss_mb"] = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)
        remote.unlink(missing_ok=True)


def replicate(assistant: Any, total: int, rng: Any) -> int:
    """Copy the index's articles and chunks (new ids, same texts) until about `total` chunks: catalogue and
    FTS5 rows by SQL, Chroma vectors as perturbed copies of the originals. For latency and memory at a
    size nobody can embed in a session; the copies say nothing about quality. Returns the copies made."""
    import numpy as np

    from rag.retrieve import lexical

    store = assistant.store
    conn = store.catalog.conn
    base_chunks = store.count()
    max_article = int(conn.execute("SELECT max(id) FROM articles").fetchone()[0])
    max_chunk = int(conn.execute("SELECT max(id) FROM chunks").fetchone()[0])
    ids = [str(r[0]) for r in conn.execute("SELECT chunk_id FROM chunks ORDER BY id")]
    copies = 0
    while store.count() + base_chunks <= total:
        copies += 1
        a_off, c_off, tag = copies * (max_article + 1), copies * (max_chunk + 1), f"{copies:08d}"
        with store.catalog.write() as w:
            w.execute("INSERT INTO articles (id, origin, doc_id, identity, meta, day, grp, signature) "
                      "SELECT id + ?, origin, doc_id || '#' || ?, identity, meta, day, grp + ?, NULL FROM articles "
                      "WHERE id <= ?", (a_off, tag, a_off, max_article))
            w.execute("INSERT INTO chunks (id, chunk_id, text, owner, owner_pos, doc_id, day) "
                      "SELECT id + ?, substr(chunk_id, 1, 24) || ?, text, owner + ?, owner_pos, doc_id || '#' || ?, "
                      "day FROM chunks WHERE id <= ?", (c_off, tag, a_off, tag, max_chunk))
            w.execute('INSERT INTO refs SELECT article + ?, position, chunk + ?, start, "end", dates FROM refs '
                      "WHERE article <= ?", (a_off, c_off, max_article))
            w.execute("INSERT INTO chunk_fts(rowid, tokens) SELECT rowid + ?, tokens FROM chunk_fts WHERE rowid <= ?",
                      (c_off, max_chunk))
            w.execute("INSERT INTO sentences SELECT substr(chunk_id, 1, 24) || ?, spans, vectors FROM sentences "
                      "WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE id <= ?)", (tag, max_chunk))
            lexical.rebuild_stats(w)  # the copied FTS5 rows bypassed the term statistics ingest keeps
        for i in range(0, len(ids), 5000):
            part = ids[i:i + 5000]
            got = store.collection.get(ids=part, include=["embeddings"])
            vecs = np.asarray(got["embeddings"], dtype=np.float32)
            vecs = vecs + rng.normal(0, 0.02, vecs.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            store.add_vectors([c[:24] + tag for c in got["ids"]], vecs.tolist())
        print(f"copy {copies}: {store.count()} chunks", flush=True)
    return copies


def retrieval_probe(qs: list[str]) -> dict[str, Any]:
    """In this process: retrieval only (the index work of a question), p50/p95 and peak RSS; then the
    lexical side alone, as shipped (pruned) and exact (every posting scored), on the same questions."""
    from rag.assistant import Assistant
    from rag.retrieve.lexical import Pruning
    from rag.text.tokens import lexical_tokens

    assistant = Assistant()
    t0 = time.perf_counter()
    assistant.retrieve(qs[0])
    first = time.perf_counter() - t0
    times = []
    for q in qs[1:]:
        t = time.perf_counter()
        assistant.retrieve(q)
        times.append(time.perf_counter() - t)
    result = {"first_retrieve_s": first, **percentiles("retrieve", times), "retrieve_n": len(times),
              "peak_rss_mb": peak_rss_mb()}
    s = assistant.settings
    shipped = Pruning(s.lexical_postings, s.lexical_pool, s.lexical_rounds)
    tops: dict[str, list[set[str]]] = {}
    for label, pruning in (("lexical_pruned", shipped), ("lexical_exact", Pruning(postings=10**12))):
        lex_times = []
        for q in qs[1:]:
            tokens = lexical_tokens(q, assistant.lexicon)
            t = time.perf_counter()
            hits = assistant.store.lexical(tokens, s.fetch_k, None, pruning)
            lex_times.append(time.perf_counter() - t)
            tops.setdefault(label, []).append({c for c, _ in hits})
        result |= percentiles(label, lex_times)
    pairs = list(zip(tops["lexical_pruned"], tops["lexical_exact"], strict=True))
    result["lexical_top_overlap"] = statistics.mean(len(a & b) / max(1, len(b)) for a, b in pairs)
    result["load_average"] = os.getloadavg()[0]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Build the corpus, ingest, measure, grow, measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("/work/.mirror/realtimeqa+realtimeqa_public/repo"))
    parser.add_argument("--real", type=int, default=10_000, help="chunks embedded for real")
    parser.add_argument("--start-from", type=Path, default=None, metavar="DATA_DIR",
                        help="start from a copy of this built index (all vectors real) instead of --real")
    parser.add_argument("--total", type=int, default=100_000, help="chunks after growing with reused vectors")
    parser.add_argument("--million", type=int, default=0, metavar="N",
                        help="then copy the index until about N chunks and measure retrieval there")
    parser.add_argument("--replicate-to", type=int, default=0, metavar="N",
                        help="instead of growing with new articles, copy the index's rows until about N chunks "
                             "(fast; same texts, perturbed vectors) and measure everything there")
    parser.add_argument("--server", action="store_true", help="also measure the grown index over `chroma run`")
    parser.add_argument("--questions", type=int, default=13, help="questions per serving probe (first is cold)")
    parser.add_argument("--keep", type=Path, default=None, help="build the index here and keep it")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--retrieval-probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(serve_probe(json.loads(args.probe))))
        return 0
    if args.retrieval_probe:
        print(json.dumps(retrieval_probe(json.loads(args.retrieval_probe))))
        return 0

    import numpy as np

    from rag.assistant import Assistant
    from rag.settings import Settings

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    data, folder = tmp / "data", tmp / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    if args.start_from:
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(args.start_from, data)
    settings = Settings(data_dir=data, seeds_dir=tmp / "no-seeds", llm="extractive")
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_SEEDS_DIR": str(tmp / "no-seeds"), "RAG_LLM": "extractive"}
    qs = questions(args.repo, args.questions)
    source = articles(args.repo)
    assistant = Assistant(settings)
    results: dict[str, Any] = {"questions": len(qs), "steps": [], "machine": f"{os.cpu_count()} cores"}
    n = 0
    if args.start_from:
        step = {"chunks": assistant.store.count(), "vectors": f"all real: a copy of {args.start_from}, built by "
                "`rag ingest`", "embedded": measure(env, qs), "disk_mb": du(data) / 1e6}
    else:  # real ingest, a batch of articles at a time until about `real` chunks
        assistant.embedder.get_text_embedding("warm-up")
        real = folder / "real"
        real.mkdir(exist_ok=True)
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
                "embedded": measure(env, qs), "disk_mb": du(data) / 1e6}
    if args.server and args.total <= step["chunks"]:  # no growing: the server is measured on this index
        step["server"] = server_measure(data, env, qs, settings)
    results["steps"].append(step)
    print(json.dumps(step, indent=1), flush=True)
    rng = np.random.default_rng(0)
    first = results["steps"][0]["chunks"]
    if args.replicate_to:
        copies = replicate(assistant, args.replicate_to, rng)
        step = {"chunks": assistant.store.count(),
                "vectors": f"the {first}-chunk index copied {copies} times (same texts, new ids; vectors perturbed "
                           "copies): latency and memory only", "embedded": measure(env, qs), "disk_mb": du(data) / 1e6}
        if args.server:
            step["server"] = server_measure(data, env, qs, settings)
        results["steps"].append(step)
        print(json.dumps(step, indent=1), flush=True)
    if args.total > assistant.store.count():  # grow with real texts and reused vectors
        added, reused = grow(assistant, folder, source, args.total, n, rng)
        step = {"chunks": assistant.store.count(), "articles_added": added,
                "vectors": f"{first} real; {reused} chunks of real articles added with a reused real vector + "
                           "noise (sigma 0.02), sentence vectors likewise",
                "embedded": measure(env, qs), "disk_mb": du(data) / 1e6}
        if args.server:
            step["server"] = server_measure(data, env, qs, settings)
        results["steps"].append(step)
        print(json.dumps(step, indent=1), flush=True)
        write(args.out, results)
    if args.million:
        grown = assistant.store.count()
        copies = replicate(assistant, args.million, rng)
        out = subprocess.run([sys.executable, __file__, "--retrieval-probe", json.dumps(qs)], env=env,
                             cwd=PROJECT_ROOT, check=True, capture_output=True, text=True).stdout
        step = {"chunks": assistant.store.count(),
                "vectors": f"the {grown}-chunk index copied {copies} times (same texts, new ids; vectors perturbed "
                           "copies): latency and memory only", "retrieval": json.loads(out.strip().splitlines()[-1]),
                "disk_mb": du(data) / 1e6}
        results["steps"].append(step)
        print(json.dumps(step, indent=1), flush=True)
    write(args.out, results)
    return 0


def write(out: Path, results: dict[str, Any]) -> None:
    """The results as JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
