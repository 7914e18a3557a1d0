"""Ingestion: load -> split -> embed -> store, incrementally.

An unchanged article (same content hash, all chunks present) is not embedded again; a changed one has its
chunks replaced; an article that disappeared from the folder loses its chunks; `rebuild` starts over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.schema import MetadataMode, TextNode
from tqdm import tqdm

from rag.errors import RagError
from rag.ingest.catalog import ArticleRecord, ChunkRecord, article_key
from rag.ingest.embed import Embedder, SpanEmbedder
from rag.ingest.load import load_path
from rag.ingest.split import min_chunks, split_article
from rag.ingest.store import SentenceVectors, Store
from rag.ingest.syndication import StoryGroups, signature, to_bytes
from rag.models import Article
from rag.settings import Settings
from rag.text.dates import format_resolved, resolve_dates
from rag.text.lexicon import LEXICON_FILE, Lexicon, corpus_lexicon
from rag.text.sentences import sentence_spans


@dataclass
class IngestReport:
    """What one ingest run did, for the CLI, the UI and tests: every entry of the folder is in one list.

    Articles (doc_ids) are added, updated or unchanged; entries are skipped (with the reason), ignored on
    purpose (hidden files, folder READMEs; with why) or metadata sidecars. `entries` counts what the folder
    held; `deleted` lists articles that left the index because their file is gone.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or file#record, reason)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry, why it is not an article)
    sidecars: list[str] = field(default_factory=list)
    # Skipped entries whose version indexed by an earlier run stays searchable (a file that broke since).
    kept: list[str] = field(default_factory=list)
    entries: int = 0
    chunks_embedded: int = 0

    def summary(self) -> str:
        """One line for humans."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.deleted)} removed, {len(self.skipped)} skipped, {len(self.ignored)} ignored "
                f"(hidden or README), {len(self.sidecars)} metadata sidecars; "
                f"{self.chunks_embedded} chunks embedded; {self.entries} entries in the folder")


def ingest_path(path: Path, store: Store, embedder: Embedder, settings: Settings, *,
                progress: bool = True, prune: bool = True) -> IngestReport:
    """Bring the index in step with the articles at `path` (a folder or one file).

    One bad file or article never stops the run: loading, parsing and splitting errors, and articles
    over RAG_MAX_CHUNKS_PER_ARTICLE, are skipped and named in the report.
    """
    path = path.expanduser()
    if not path.exists():
        raise RagError(f"{path} does not exist. Give a folder or a file of articles (txt, md, html, json, jsonl).")
    loaded = load_path(path, settings)
    report = IngestReport(skipped=list(loaded.skipped), ignored=list(loaded.ignored),
                          sidecars=list(loaded.sidecars), entries=loaded.entries)
    if not loaded.articles:
        kinds = "txt, md, html, json or jsonl"
        raise RagError(f"No articles found in {path} (looked for {kinds} files)"
                       + (f"; skipped: {_skipped_text(loaded.skipped)}" if loaded.skipped else "") + ".")
    if path.is_dir():
        keep_lexicon(path, settings)
        # The lexical index tokenises with the lexicon in force, which may now include this folder's.
        store.catalog.lexicon = corpus_lexicon(settings.lexicon_path, settings.lexicon_file)
    store.prepare_for_writes()
    origin = str((path if path.is_dir() else path.parent).resolve())
    states = store.doc_states(origin)
    todo: list[tuple[Article, bool]] = []  # (article, already in the index)
    for article in loaded.articles:
        state = states.get(article.doc_id)
        if state == chunk_identity(article, settings):
            report.unchanged.append(article.doc_id)
        else:
            todo.append((article, state is not None))
    if todo:
        _write_articles(todo, origin, store, embedder, settings, report, progress)
    report.kept = [name for name, _ in report.skipped if name in states]
    if prune and path.is_dir():
        present = {a.doc_id for a in loaded.articles} | {name for name, _ in loaded.skipped}
        for doc_id in sorted(set(states) - present):
            store.delete_doc(origin, doc_id)
            report.deleted.append(doc_id)
    return report


class _Refused(Exception):
    """One article cannot be chunked (over the cap, or the splitter failed on it); the message says why."""


def _split(article: Article, settings: Settings) -> list[TextNode]:
    """The article's chunks with their dates resolved, or `_Refused` when there would be more than the cap."""
    cap = settings.max_chunks_per_article
    too_many = (f"more than {cap} chunks, over the cap per article (RAG_MAX_CHUNKS_PER_ARTICLE); "
                "split it into smaller files or raise the cap")
    if min_chunks(article.text, settings.chunk_size) > cap:  # decided from a word count, before splitting
        raise _Refused(too_many)
    try:
        nodes = split_article(article, settings.chunk_size, settings.chunk_overlap, limit=cap + 1)
        if len(nodes) > cap:
            raise _Refused(too_many)
        for node in nodes:
            annotate_dates(node, article)
    except _Refused:
        raise
    except Exception as exc:  # one article the splitter or date resolver chokes on must not stop the run
        raise _Refused(f"could not be split into chunks ({type(exc).__name__}: {str(exc)[:200]})") from exc
    return nodes


def _write_articles(todo: list[tuple[Article, bool]], origin: str, store: Store, embedder: Embedder,
                    settings: Settings, report: IngestReport, progress: bool) -> None:
    """Split, embed and record articles, a batch of chunks at a time, each article in its own transaction.

    Chunks of several articles share one embedding batch (the model is fastest on full batches of similar
    lengths), but each article is recorded on its own: a run killed half-way keeps every article recorded
    so far, and the next run redoes the rest, reusing any vector already written.
    """
    groups = StoryGroups.load(store.catalog)
    bar = tqdm(total=len(todo), desc="Indexing", unit="article", disable=not progress,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} articles [{elapsed}<{remaining}{postfix}]")
    pending: list[tuple[Article, list[TextNode]]] = []
    size = max(1, settings.embed_batch_size) * EMBED_BATCHES_PER_WRITE
    for article, known in todo:
        try:
            nodes = _split(article, settings)
        except _Refused as reason:
            report.skipped.append((article.doc_id, str(reason)))
            bar.update(1)
            continue
        (report.updated if known else report.added).append(article.doc_id)
        pending.append((article, nodes))
        if sum(len(nodes) for _, nodes in pending) >= size:
            _flush(pending, origin, store, embedder, settings, report, groups, bar)
    _flush(pending, origin, store, embedder, settings, report, groups, bar)
    bar.close()


# Chunks gathered before embedding: several model batches, so that sorting them by length packs each batch
# with texts of similar length (less padding), while an interrupted run loses little work.
EMBED_BATCHES_PER_WRITE = 8


def _flush(pending: list[tuple[Article, list[TextNode]]], origin: str, store: Store, embedder: Embedder,
           settings: Settings, report: IngestReport, groups: StoryGroups, bar: tqdm) -> None:
    """Embed the new chunk texts of the pending articles, then record each article."""
    if not pending:
        return
    texts: dict[str, tuple[str, str]] = {}  # chunk id -> (the text embedded, the chunk text)
    for _, nodes in pending:
        for node in nodes:  # dates were resolved in _split
            content = node.get_content()
            texts.setdefault(chunk_id(content), (node.get_content(metadata_mode=MetadataMode.EMBED), content))
    with_sentences = isinstance(embedder, SpanEmbedder)
    new = store.unembedded(list(texts), sentences=with_sentences)
    if new and isinstance(embedder, SpanEmbedder):
        store.add_vectors(new, *embed_with_sentences(embedder, [texts[c] for c in new]))
    elif new:
        store.add_vectors(new, embed_sorted(embedder, [texts[c][0] for c in new]))
    for article, nodes in pending:
        record_article(store, groups, origin, article, nodes, settings)
        bar.update(1)
    report.chunks_embedded += len(new)
    bar.set_postfix_str(f"{report.chunks_embedded} chunks embedded", refresh=False)
    pending.clear()


def record_article(store: Store, groups: StoryGroups, origin: str, article: Article, nodes: list[TextNode],
                   settings: Settings) -> None:
    """Record one article whose chunk vectors are stored, in its story group (syndicated copies join one)."""
    record = article_record(origin, article, nodes, settings)
    sig = signature(article.text)
    key = article_key(origin, article.doc_id)
    record.signature = to_bytes(sig)
    record.group = groups.group_of(key, sig)
    groups.add(key, store.put_article(record), sig)


def embed_sorted(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    """Vectors of `texts`, in their order, computed shortest first.

    A batch is padded to its longest text, so batches of similar lengths waste less of the model's time.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = embedder.get_text_embedding_batch([texts[i] for i in order])
    result: list[list[float]] = [[] for _ in texts]
    for i, vector in zip(order, vectors, strict=True):
        result[i] = vector
    return result


def embed_with_sentences(embedder: SpanEmbedder, texts: list[tuple[str, str]]
                         ) -> tuple[list[list[float]], list[SentenceVectors]]:
    """Vectors of the (embedded text, chunk text) pairs and of each chunk's sentences, from one model pass,
    shortest first as in `embed_sorted`. Sentence spans are offsets in the chunk text (what a passage shows);
    a sentence that truncation cut off is left out, and the answerer embeds it alone when it needs it."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i][0]))
    vectors: list[list[float]] = [[] for _ in texts]
    sentences: list[SentenceVectors] = [([], np.zeros((0, 0), dtype=np.float32)) for _ in texts]
    size = max(1, embedder.embed_batch_size)
    for b in range(0, len(order), size):
        batch = order[b:b + size]
        spans = [sentence_spans(texts[i][1]) for i in batch]
        offsets = [len(texts[i][0]) - len(texts[i][1]) if texts[i][0].endswith(texts[i][1]) else None
                   for i in batch]
        chunk_vecs, span_vecs = embedder.embed_with_spans(
            [texts[i][0] for i in batch],
            [[(s + off, e + off) for s, e in sp] if off is not None else [] for sp, off in zip(spans, offsets,
                                                                                           strict=True)])
        for i, vec, sp, sv, off in zip(batch, chunk_vecs, spans, span_vecs, offsets, strict=True):
            vectors[i] = vec.tolist()
            kept = [j for j in range(len(sv)) if off is not None and sv[j].any()]
            sentences[i] = ([sp[j] for j in kept], sv[kept])
    return vectors, sentences


def chunk_id(text: str) -> str:
    """A chunk's id: a hash of its text, so identical text is stored (and embedded) once."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def article_record(origin: str, article: Article, nodes: list[TextNode], settings: Settings) -> ArticleRecord:
    """What the catalogue records for an article and its chunks."""
    chunks = [ChunkRecord(chunk_id(n.get_content()), n.get_content(), i, int(n.start_char_idx or 0),
                          int(n.end_char_idx or 0), n.metadata.get("dates")) for i, n in enumerate(nodes)]
    day = int(article.published.strftime("%Y%m%d")) if article.published else 0
    meta = article.metadata() | {"content_hash": chunk_identity(article, settings)}
    return ArticleRecord(origin, article.doc_id, chunk_identity(article, settings), meta, day, chunks)


def keep_lexicon(folder: Path, settings: Settings) -> None:
    """Merge the folder's lexicon.json (if any) into the index's own lexicon, so queries use it later.

    Read before any article is embedded: a broken lexicon stops the ingest with a clear message.
    """
    found = folder / LEXICON_FILE
    if not found.is_file():
        return
    ours = settings.lexicon_file
    current = Lexicon.load(ours) if ours.is_file() else Lexicon()
    merged = current.merged(Lexicon.load(found))
    if merged != current:
        merged.save(ours)


# Bump when splitting or chunk metadata change, so existing indexes are re-split on the next ingest
# instead of silently serving chunks made by older code (2: resolved "dates" metadata, closing quotes;
# 3: "published_day" for as_of filtering, chunks keyed by text hash in the SQLite catalogue).
# 4: sentence vectors kept at ingest; 5: a title before a name ("Rep.", "Sen.", "Gov.") ends no sentence.
# Chunk texts that did not change keep their vectors: only the re-split chunks are embedded again.
PIPELINE_VERSION = 5


def chunk_identity(article: Article, settings: Settings) -> str:
    """What an article's chunks were made from: its content, the chunking settings and the pipeline."""
    return f"{article.content_hash}:{settings.chunk_size}/{settings.chunk_overlap}:v{PIPELINE_VERSION}"


def annotate_dates(node: TextNode, article: Article) -> None:
    """Resolve the chunk's relative dates against the article's dateline, for the generators to see."""
    resolved = [m for m in resolve_dates(node.get_content(), article.published) if m.relative and m.resolved]
    if resolved:
        node.metadata["dates"] = "; ".join(f"{m.expression} = {format_resolved(m)}" for m in resolved)
        node.excluded_embed_metadata_keys = [*node.excluded_embed_metadata_keys, "dates"]


def _skipped_text(skipped: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name} ({reason})" for name, reason in skipped[:10])
