"""Ingestion: load -> split -> embed -> store, incrementally.

An unchanged article (same content hash, all chunks present) is not embedded again; a changed one has its
chunks replaced; an article that disappeared from the folder loses its chunks; `rebuild` starts over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import MetadataMode, TextNode
from tqdm import tqdm

from rag.errors import RagError
from rag.ingest.load import load_path
from rag.ingest.split import split_article
from rag.ingest.store import Store
from rag.models import Article
from rag.settings import Settings
from rag.text.dates import format_resolved, resolve_dates
from rag.text.lexicon import LEXICON_FILE, Lexicon


@dataclass
class IngestReport:
    """What one ingest run did, for the CLI, the UI and tests."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_embedded: int = 0

    def summary(self) -> str:
        """One line for humans."""
        text = (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.deleted)} removed, {len(self.skipped)} skipped; {self.chunks_embedded} chunks embedded")
        return text


def ingest_path(path: Path, store: Store, embedder: BaseEmbedding, settings: Settings, *,
                progress: bool = True, prune: bool = True) -> IngestReport:
    """Bring the index in step with the articles at `path` (a folder or one file)."""
    path = path.expanduser()
    if not path.exists():
        raise RagError(f"{path} does not exist. Give a folder or a file of articles (txt, md, html, json, jsonl).")
    loaded = load_path(path)
    report = IngestReport(skipped=list(loaded.skipped))
    if not loaded.articles:
        kinds = "txt, md, html, json or jsonl"
        raise RagError(f"No articles found in {path} (looked for {kinds} files)"
                       + (f"; skipped: {_skipped_text(loaded.skipped)}" if loaded.skipped else "") + ".")
    if path.is_dir():
        keep_lexicon(path, settings)
    origin = str((path if path.is_dir() else path.parent).resolve())
    states = store.doc_states(origin)
    todo: list[Article] = []
    for article in loaded.articles:
        state = states.get(article.doc_id)
        wanted = chunk_identity(article, settings)
        if state and state.complete and state.content_hash == wanted:
            report.unchanged.append(article.doc_id)
        else:
            todo.append(article)
            (report.updated if state else report.added).append(article.doc_id)
    bar = tqdm(total=len(todo), desc="Embedding articles", unit="article", disable=not progress or not todo)
    for article in todo:
        nodes = split_article(article, settings.chunk_size, settings.chunk_overlap)
        for node in nodes:
            node.metadata["content_hash"] = chunk_identity(article, settings)
            _annotate_dates(node, article)
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        for node, vector in zip(nodes, embedder.get_text_embedding_batch(texts), strict=True):
            node.embedding = vector
        store.replace_doc(origin, article.doc_id, nodes)
        report.chunks_embedded += len(nodes)
        bar.update(1)
    bar.close()
    if prune and path.is_dir():
        present = {a.doc_id for a in loaded.articles} | {name for name, _ in loaded.skipped}
        for doc_id in sorted(set(states) - present):
            store.delete_doc(origin, doc_id)
            report.deleted.append(doc_id)
    return report


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
# 3: "published_day" for as_of filtering).
PIPELINE_VERSION = 3


def chunk_identity(article: Article, settings: Settings) -> str:
    """What an article's chunks were made from: its content, the chunking settings and the pipeline."""
    return f"{article.content_hash}:{settings.chunk_size}/{settings.chunk_overlap}:v{PIPELINE_VERSION}"


def _annotate_dates(node: TextNode, article: Article) -> None:
    """Resolve the chunk's relative dates against the article's dateline, for the generators to see."""
    resolved = [m for m in resolve_dates(node.get_content(), article.published) if m.relative and m.resolved]
    if resolved:
        node.metadata["dates"] = "; ".join(f"{m.expression} = {format_resolved(m)}" for m in resolved)
        node.excluded_embed_metadata_keys = [*node.excluded_embed_metadata_keys, "dates"]


def _skipped_text(skipped: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name} ({reason})" for name, reason in skipped[:10])
