"""RealTimeQA on real news: our pipeline against llama-index's plain one, on 2022-2023 weeks.

    python -m bench.realtimeqa export --repo CLONE [--out /work/rtqa/dev]
    python -m bench.realtimeqa run [--data /work/rtqa/dev] [--ours-index DIR] [--plain-index DIR]

RealTimeQA (Kasai et al., NeurIPS 2023 Datasets and Benchmarks; github.com/realtimeqa/realtimeqa_public)
publishes each week's news quiz (`past/YYYY/DATE_qa.jsonl`) with the articles a search engine returned for
every question (`past/YYYY/DATE_gcs.jsonl`). `export` turns chosen weeks into a folder of articles our
loader reads and a gold file; `run` scores both pipelines on it in one run.

Only weeks of 2022 and 2023 are read (the development split); weeks from 2024 on are held out and this
script refuses them. Its articles are written outside the repository and never committed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.models import day_number

DEV_YEARS = ("2022", "2023")
MIN_WEEKS = 8
MIN_QUESTIONS = 80
DEFAULT_DATA = Path("/work/rtqa/dev")

# "Which of these is NOT ..." asks to rule choices out: without the choices it has no open answer.
_NEGATED = re.compile(r"\bNOT\b|\bwhich\b[^?]*\b(?:not|isn't|wasn't|aren't|weren't)\b", re.IGNORECASE)
# Choices that only make sense next to the other choices.
_CHOICE_ONLY = re.compile(r"\b(?:all|none|both|neither) of (?:the )?(?:above|these|them)\b", re.IGNORECASE)
_WEEK_FILE = re.compile(r"^past/(?P<year>\d{4})/(?P<date>\d{8})_qa\.jsonl$")


# --- reading the clone ------------------------------------------------------------------------------


def _git_show(repo: Path, path: str) -> str:
    """A file of the clone at HEAD; works on a bare repository as well as a checkout."""
    out = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def dev_weeks(repo: Path) -> list[str]:
    """Dates (YYYYMMDD) of the weekly quiz files of the development years, oldest first."""
    out = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD", "past/"],
                         capture_output=True, check=True, text=True).stdout.split()
    names = set(out)
    weeks = []
    for name in out:
        match = _WEEK_FILE.match(name)
        if match and match["year"] in DEV_YEARS and f"past/{match['year']}/{match['date']}_gcs.jsonl" in names:
            weeks.append(match["date"])
    return sorted(weeks)


def _jsonl(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


# --- turning a week into questions and articles -----------------------------------------------------


@dataclass
class WeekExport:
    """One week's kept questions (gold rows) and the articles its searches returned."""

    week: str
    gold: list[dict[str, Any]] = field(default_factory=list)
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)  # url -> article record
    asked: int = 0


def article_id(url: str) -> str:
    """A stable file stem for an article: its URL's hash (the same story in two weeks is one file)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def _outlet(url: str) -> str:
    host = urlparse(url).hostname or ""
    return host.removeprefix("www.").removeprefix("edition.")


def _iso(value: str | None) -> str | None:
    match = re.match(r"^(\d{4})[/-](\d{2})[/-](\d{2})", value or "")
    return f"{match[1]}-{match[2]}-{match[3]}" if match else None


def verbatim(answer: str, text: str) -> bool:
    """The answer occurs in the text as written, as whole words (so "Io" is not found in "Ohio")."""
    return re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", text) is not None


def read_week(repo: Path, week: str) -> WeekExport:
    """The questions of one week that an open question can be scored on, and the week's articles."""
    year = week[:4]
    export = WeekExport(week)
    searches = {row["question_id"]: row.get("search_result") or []
                for row in _jsonl(_git_show(repo, f"past/{year}/{week}_gcs.jsonl"))}
    for results in searches.values():
        for hit in results:
            url = hit.get("url")
            if url and url not in export.articles and (hit.get("text") or "").strip():
                export.articles[url] = {"title": hit.get("title"), "url": url, "outlet": _outlet(url),
                                        "published": _iso(hit.get("publish_date")), "text": hit["text"]}
    for row in _jsonl(_git_show(repo, f"past/{year}/{week}_qa.jsonl")):
        export.asked += 1
        item = _gold_row(row, searches.get(row["question_id"], []))
        if item is not None:
            export.gold.append(item)
    return export


def _gold_row(row: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A gold row for an open question, or None when the question cannot be scored openly."""
    question = str(row.get("question_sentence") or "").strip()
    choices = [str(c).strip() for c in row.get("choices") or []]
    try:
        correct = choices[int(row["answer"][0])]
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    if not question or not correct or _NEGATED.search(question) or _CHOICE_ONLY.search(correct):
        return None
    supporting = sorted({article_id(hit["url"]) for hit in results
                         if hit.get("url") and verbatim(correct, hit.get("text") or "")})
    if not supporting:
        return None
    return {
        "id": str(row["question_id"]),
        "question": question,
        "answers": [correct],
        "answers_all": [],
        "supporting_docs": supporting,
        "type": "realtimeqa",
        "answerable": True,
        "as_of": _iso(row.get("question_date")),
        "wrong_answers": [c for c in choices if c and c != correct],
        "source": row.get("question_source"),
    }


def choose_weeks(exports: list[WeekExport]) -> list[WeekExport]:
    """The fewest weeks, taken by most kept questions (ties: older first), holding at least MIN_WEEKS
    weeks and MIN_QUESTIONS questions. A rule on the question counts only, so anyone re-running it gets
    the same weeks."""
    ranked = sorted(exports, key=lambda e: (-len(e.gold), e.week))
    chosen: list[WeekExport] = []
    for export in ranked:
        if len(chosen) >= MIN_WEEKS and sum(len(e.gold) for e in chosen) >= MIN_QUESTIONS:
            break
        chosen.append(export)
    return sorted(chosen, key=lambda e: e.week)


def export(repo: Path, out: Path) -> dict[str, Any]:
    """Write out/articles/<week>/<id>.json (one article each, URLs deduplicated across weeks) and
    out/gold.jsonl for the chosen weeks; return a summary (also written as out/export.json)."""
    exports = [read_week(repo, week) for week in dev_weeks(repo)]
    chosen = choose_weeks(exports)
    articles_dir = out / "articles"
    articles_dir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    for week in chosen:
        for url, record in week.articles.items():
            if url in written:
                continue
            written.add(url)
            path = articles_dir / week.week / f"{article_id(url)}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    gold = [row for week in chosen for row in week.gold]
    (out / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in gold),
                                    encoding="utf-8")
    summary = {
        "rule": f"weeks of {'/'.join(DEV_YEARS)} ranked by kept questions (ties: older first); the fewest "
                f"that hold at least {MIN_WEEKS} weeks and {MIN_QUESTIONS} questions",
        "weeks": {w.week: {"asked": w.asked, "kept": len(w.gold), "articles": len(w.articles)} for w in chosen},
        "candidate_weeks": len(exports),
        "questions": len(gold),
        "articles": len(written),
    }
    (out / "export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


# --- the plain llama-index pipeline, cached ---------------------------------------------------------

PLAIN_CHUNK = 256
PLAIN_OVERLAP = 20
PLAIN_COLLECTION = "plain"


def corpus_hash(folder: Path) -> str:
    """Changes when any article file under `folder` changes (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class PlainIndex:
    """llama-index's plain pipeline over the corpus, and what building it cost."""

    index: Any  # llama_index.core.VectorStoreIndex
    chunks: int
    build_s: float | None  # None when it came from the cache


def plain_index(articles_dir: Path, index_dir: Path, embed: Any) -> PlainIndex:
    """SentenceSplitter(256, 20) -> VectorStoreIndex over Chroma with our MiniLM embedder, as llama-index's
    docs show it; built once per corpus (keyed by its hash) and reused from `index_dir` after that."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.ingest.load import load_path

    key = f"{corpus_hash(articles_dir)}:{PLAIN_CHUNK}/{PLAIN_OVERLAP}"
    marker = index_dir / "corpus.key"
    client = chromadb.PersistentClient(str(index_dir), settings=ChromaSettings(anonymized_telemetry=False))
    if marker.is_file() and marker.read_text() == key:
        collection = client.get_collection(PLAIN_COLLECTION)
        store = ChromaVectorStore(chroma_collection=collection)
        index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
        return PlainIndex(index, collection.count(), None)
    marker.unlink(missing_ok=True)
    with contextlib.suppress(Exception):  # nothing to drop on a first build
        client.delete_collection(PLAIN_COLLECTION)
    t0 = time.perf_counter()
    documents = [
        # "article" rather than "doc_id": llama-index writes ref_doc_id into a "doc_id" metadata key itself.
        Document(text=a.text, id_=a.doc_id, metadata={"article": a.doc_id, "published_day": day_number(a.published)},
                 excluded_embed_metadata_keys=["article", "published_day"],
                 excluded_llm_metadata_keys=["article", "published_day"])
        for a in load_path(articles_dir).articles
    ]
    nodes = SentenceSplitter(chunk_size=PLAIN_CHUNK, chunk_overlap=PLAIN_OVERLAP).get_nodes_from_documents(documents)
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection(PLAIN_COLLECTION))
    storage = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed, show_progress=True)
    build_s = time.perf_counter() - t0
    marker.write_text(key)
    (index_dir / "build.json").write_text(json.dumps({"chunks": len(nodes), "build_s": build_s}))
    return PlainIndex(index, len(nodes), build_s)


# --- command line -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Entry point: `export` or `run`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="write the dev weeks' articles and gold file")
    exp.add_argument("--repo", type=Path, required=True, help="clone (bare or not) of realtimeqa_public")
    exp.add_argument("--out", type=Path, default=DEFAULT_DATA)
    plain = sub.add_parser("plain-index", help="build (or check) the cached plain llama-index index only")
    plain.add_argument("--data", type=Path, default=DEFAULT_DATA)
    plain.add_argument("--plain-index", type=Path, default=DEFAULT_DATA.parent / "index-plain")
    args = parser.parse_args(argv)
    if args.command == "export":
        summary = export(args.repo, args.out)
        print(json.dumps(summary, indent=2))
    elif args.command == "plain-index":
        from rag.ingest.embed import MiniLMEmbedding

        built = plain_index(args.data / "articles", args.plain_index, MiniLMEmbedding(embed_batch_size=32))
        print(f"{built.chunks} chunks, " + (f"built in {built.build_s:.0f} s" if built.build_s else "cached"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
