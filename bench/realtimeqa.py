"""RealTimeQA on real news: our pipeline against llama-index's plain one, on 2022-2023 weeks.

    python -m bench.realtimeqa export --repo CLONE [--out /work/rtqa/dev] [--exclude OTHER/export.json]
    python -m bench.realtimeqa run [--data /work/rtqa/dev] [--ours-index DIR] [--plain-index DIR]

RealTimeQA (Kasai et al., NeurIPS 2023 Datasets and Benchmarks; github.com/realtimeqa/realtimeqa_public)
publishes each week's news quiz (`past/YYYY/DATE_qa.jsonl`) with the articles a search engine returned for
every question (`past/YYYY/DATE_gcs.jsonl`). `export` turns chosen weeks into a folder of articles our
loader reads and a gold file; `run` scores both pipelines on it in one run. `--exclude` skips the weeks
of an earlier export, so the same rule draws a second, disjoint development sample: a check that what
was tuned on the first one was not fitted to its questions.

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
    seen: set[str] = set()
    for row in _jsonl(_git_show(repo, f"past/{year}/{week}_qa.jsonl")):
        # 20230922_qa.jsonl lists each of its 20 questions twice, identical: count and keep one of each.
        if str(row["question_id"]) in seen:
            continue
        seen.add(str(row["question_id"]))
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


def export(repo: Path, out: Path, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Write out/articles/<week>/<id>.json (one article each, URLs deduplicated across weeks) and
    out/gold.jsonl for the chosen weeks, none of `exclude` (YYYYMMDD); return a summary (also written as
    out/export.json)."""
    exports = [read_week(repo, week) for week in dev_weeks(repo) if week not in exclude]
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
        "excluded_weeks": sorted(exclude),
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


# --- scoring both pipelines on the gold questions -----------------------------------------------------

OUR_K = 10  # 10 x 128 tokens ...
PLAIN_K = 5  # ... = 5 x 256 tokens: the same context budget
# The undated search scored as a reader on the quiz day would see it: passages published later count as misses.
LATER_UNCOUNTED = "no date, later articles not counted"


@dataclass
class Scores:
    """Per-question 0/1 figures, averaged at the end."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def means(self) -> dict[str, float]:
        return {name: sum(v) / len(v) for name, v in self.values.items()}


def classify(answer: Any, item: Any) -> str:
    """right (holds the correct choice), wrong (holds only a wrong choice), refused, or other."""
    from rag.eval.metrics import contains
    from rag.retrieve.timeframe import as_of_lead

    if answer.refused:
        return "refused"
    text = answer.text
    if answer.as_of and text.startswith(as_of_lead(answer.as_of)):
        text = text[len(as_of_lead(answer.as_of)):]  # our own date words are not a choice
    if any(contains(text, a) for a in item.answers):
        return "right"
    if any(contains(text, w) for w in item.extra.get("wrong_answers", [])):
        return "wrong"
    return "other"


def score_ours(assistant: Any, gold: list[Any], scores: Scores, answers: dict[str, int]) -> None:
    """Our retrieval with and without as_of (recall@5 and @10), and our answers asked as of the quiz day."""
    from rag.eval.metrics import answer_recall_at_k, doc_hit_at_k
    from rag.retrieve.timeframe import timeframe

    for item in gold:
        with_date = assistant.retrieve(item.question, OUR_K, as_of=item.as_of)
        without = assistant.retriever.search(item.question, OUR_K)  # no date: no filter, no window
        nodes = [n.node for n in without]
        for label, texts, docs in (("as_of", [p.text for p in with_date], [p.doc_id for p in with_date]),
                                   ("no date", [n.get_content() for n in nodes],
                                    [str(n.metadata["doc_id"]) for n in nodes]),
                                   (LATER_UNCOUNTED, *_published_by(nodes, item.as_of, "doc_id"))):
            for k in (5, OUR_K):
                scores.add(f"answer recall@{k} ({label})", answer_recall_at_k(item, texts, k))
            scores.add(f"doc hit@5 ({label})", doc_hit_at_k(item, docs, 5))
        scores.add("time-bound question", float(timeframe(item.question, item.as_of).time_bound))
        verdict = classify(assistant.ask(item.question, as_of=item.as_of), item)
        answers[verdict] = answers.get(verdict, 0) + 1


def score_plain(index: Any, gold: list[Any], scores: Scores) -> None:
    """The plain pipeline's dense top-k, without and with the same as_of filter on publication day."""
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

    from rag.eval.metrics import answer_recall_at_k, doc_hit_at_k

    for item in gold:
        for label, as_of in (("no date", None), ("as_of", item.as_of)):
            filters = None
            if as_of is not None:
                filters = MetadataFilters(filters=[MetadataFilter(key="published_day", value=day_number(as_of),
                                                                  operator=FilterOperator.LTE)])
            hits = index.as_retriever(similarity_top_k=OUR_K, filters=filters).retrieve(item.question)
            nodes = [h.node for h in hits]
            views = [(label, [n.get_content() for n in nodes], [str(n.metadata["article"]) for n in nodes])]
            if as_of is None:
                views.append((LATER_UNCOUNTED, *_published_by(nodes, item.as_of, "article")))
            for name, texts, docs in views:
                for k in (PLAIN_K, OUR_K):
                    scores.add(f"answer recall@{k} ({name})", answer_recall_at_k(item, texts, k))
                scores.add(f"doc hit@5 ({name})", doc_hit_at_k(item, docs, 5))


def _published_by(nodes: list[Any], as_of: Any, doc_key: str) -> tuple[list[str], list[str]]:
    """Texts and article ids of `nodes` with those published after `as_of` blanked: what a reader asking
    on that day could have used of an undated search. "no date" counts later articles that repeat the
    answer, so a date filter can only look worse against it; this view is the fair baseline."""
    from rag.retrieve.timeframe import eligible

    kept = [n if eligible(n.metadata, as_of) else None for n in nodes]
    return ([n.get_content() if n else "" for n in kept], [str(n.metadata[doc_key]) if n else "" for n in kept])


def ingest_speed(articles_dir: Path, sample: int, embed: Any, scratch: Path) -> dict[str, float]:
    """Chunks per second of a fresh build of the same `sample` articles by both pipelines, back to back
    in this run (the cached indexes were built at other times, under other loads)."""
    from rag.assistant import Assistant
    from rag.settings import Settings

    files = sorted(articles_dir.rglob("*.json"))[:sample]
    folder = scratch / "sample"
    for file in files:
        (folder / file.parent.name).mkdir(parents=True, exist_ok=True)
        (folder / file.parent.name / file.name).write_bytes(file.read_bytes())
    # No seeds folder: an empty index must not build itself before the timed ingest does.
    assistant = Assistant(Settings(data_dir=scratch / "ours", llm="extractive", seeds_dir=scratch / "none"))
    assistant.embedder.get_text_embedding("warm-up")  # model load is not ingest
    t0 = time.perf_counter()
    report = assistant.ingest(folder)
    assistant.retriever  # noqa: B018 -- the BM25 side is part of our index
    ours_s = time.perf_counter() - t0
    plain = plain_index(folder, scratch / "plain", embed)
    assert plain.build_s is not None
    return {"articles": len(files), "ours_chunks": report.chunks_embedded, "ours_s": ours_s,
            "ours_chunks_per_s": report.chunks_embedded / ours_s, "plain_chunks": plain.chunks,
            "plain_s": plain.build_s, "plain_chunks_per_s": plain.chunks / plain.build_s}


def run(data: Path, ours_index: Path, plain_dir: Path, sample: int, out: Path) -> dict[str, Any]:
    """Both pipelines over the exported corpus and gold; the figures as a dict (also written to `out`)."""
    import tempfile

    from rag.assistant import Assistant
    from rag.eval.gold import load_gold
    from rag.ingest.llama_embedding import MiniLMEmbedding
    from rag.settings import Settings

    gold = load_gold(data / "gold.jsonl")
    embed = MiniLMEmbedding(embed_batch_size=32)
    with tempfile.TemporaryDirectory(prefix="rtqa-speed-") as scratch:
        speed = ingest_speed(data / "articles", sample, embed, Path(scratch))
    plain = plain_index(data / "articles", plain_dir, embed)
    settings = Settings(data_dir=ours_index, llm="extractive", seeds_dir=data / "articles")
    assistant = Assistant(settings)
    assistant.ingest(data / "articles")  # a no-op when the cached index is current; else brings it in step
    ours, theirs, answers = Scores(), Scores(), {}
    score_ours(assistant, gold, ours, answers)
    score_plain(plain.index, gold, theirs)
    result = {
        "corpus": json.loads((data / "export.json").read_text()),
        "questions": len(gold),
        "context_budget_tokens": {"ours": f"{OUR_K} x {settings.chunk_size}", "plain": f"{PLAIN_K} x {PLAIN_CHUNK}"},
        "ours": {"chunks": assistant.store.count(), **ours.means()},
        "plain": {"pipeline": f"SentenceSplitter({PLAIN_CHUNK}, {PLAIN_OVERLAP}) + VectorStoreIndex(Chroma) + "
                              "MiniLM, dense top-k", "chunks": plain.chunks, **theirs.means()},
        "answers_as_of": {name: answers.get(name, 0) / len(gold) for name in ("right", "wrong", "refused", "other")},
        "ingest_speed": speed,
    }
    result["table_markdown"] = table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def table(result: dict[str, Any]) -> str:
    """The headline figures as markdown."""
    o, p, a, sp = result["ours"], result["plain"], result["answers_as_of"], result["ingest_speed"]
    rows = ["| | plain llama-index | ours | ours / plain |", "|---|---:|---:|---:|"]

    def row(name: str, plain: float, ours: float) -> None:
        rows.append(f"| {name} | {plain:.3f} | {ours:.3f} | {ours / plain if plain else float('nan'):.2f} |")

    for label in ("no date", LATER_UNCOUNTED, "as_of"):
        row(f"answer recall, equal context ({PLAIN_K}x256 vs {OUR_K}x128), {label}",
            p[f"answer recall@{PLAIN_K} ({label})"], o[f"answer recall@{OUR_K} ({label})"])
        row(f"answer recall@5 (same k), {label}", p[f"answer recall@5 ({label})"], o[f"answer recall@5 ({label})"])
        row(f"doc hit@5, {label}", p[f"doc hit@5 ({label})"], o[f"doc hit@5 ({label})"])
    row("ingest chunks/s (same sample, this run)", sp["plain_chunks_per_s"], sp["ours_chunks_per_s"])
    rows.append("")
    rows.append(f"Our answers, asked as of the quiz day: right {a['right']:.0%}, wrong {a['wrong']:.0%}, "
                f"refused {a['refused']:.0%}, other {a['other']:.0%} ({result['questions']} questions).")
    return "\n".join(rows)


# --- command line -----------------------------------------------------------------------------------


def _excluded_weeks(parser: argparse.ArgumentParser, files: list[Path]) -> frozenset[str]:
    """The weeks of earlier exports (their export.json), or a usage error naming the file that is not one."""
    weeks: set[str] = set()
    for path in files:
        try:
            weeks |= set(json.loads(path.read_text(encoding="utf-8"))["weeks"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            parser.error(f"--exclude {path}: not an export.json written by `export` ({err})")
    return frozenset(weeks)


def main(argv: list[str] | None = None) -> int:
    """Entry point: `export` or `run`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="write the dev weeks' articles and gold file")
    exp.add_argument("--repo", type=Path, required=True, help="clone (bare or not) of realtimeqa_public")
    exp.add_argument("--out", type=Path, default=DEFAULT_DATA)
    exp.add_argument("--exclude", type=Path, action="append", default=[], metavar="EXPORT_JSON",
                     help="skip the weeks of an earlier export (its export.json); repeatable")
    plain = sub.add_parser("plain-index", help="build (or check) the cached plain llama-index index only")
    plain.add_argument("--data", type=Path, default=DEFAULT_DATA)
    plain.add_argument("--plain-index", type=Path, default=DEFAULT_DATA.parent / "index-plain")
    ru = sub.add_parser("run", help="score ours and the plain pipeline on the exported weeks")
    ru.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ru.add_argument("--ours-index", type=Path, default=DEFAULT_DATA.parent / "index-ours",
                    help="RAG_DATA_DIR of our index of DATA/articles (built or brought in step here)")
    ru.add_argument("--plain-index", type=Path, default=DEFAULT_DATA.parent / "index-plain")
    ru.add_argument("--speed-sample", type=int, default=20, help="articles both pipelines ingest for chunks/s")
    ru.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "realtimeqa.json")
    args = parser.parse_args(argv)
    if args.command == "run":
        result = run(args.data, args.ours_index, args.plain_index, args.speed_sample, args.out)
        print(result["table_markdown"])
        print(f"\nwritten: {args.out}")
    if args.command == "export":
        summary = export(args.repo, args.out, _excluded_weeks(parser, args.exclude))
        print(json.dumps(summary, indent=2))
    elif args.command == "plain-index":
        from rag.ingest.llama_embedding import MiniLMEmbedding

        built = plain_index(args.data / "articles", args.plain_index, MiniLMEmbedding(embed_batch_size=32))
        print(f"{built.chunks} chunks, " + (f"built in {built.build_s:.0f} s" if built.build_s else "cached"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
