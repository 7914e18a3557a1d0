"""The real Chroma index in a temp dir: incremental ingest, model mismatch, rebuild."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest.embed import MiniLMEmbedding, embedder_name
from rag.ingest.pipeline import ingest_path
from rag.ingest.store import open_store
from rag.settings import Settings

SEEDS = Path(__file__).parent.parent / "seeds"


class CountingMiniLM(MiniLMEmbedding):
    """The real embedder, counting how many texts it was asked to embed."""

    calls: int = 0

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return super()._get_text_embeddings(texts)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def test_incremental_ingest(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    embedder = CountingMiniLM()
    store = open_store(settings, embedder_name(settings))

    first = ingest_path(corpus, store, embedder, settings, progress=False)
    assert len(first.added) == 5 and first.chunks_embedded == store.count() == embedder.calls > 5
    ids_before = set(store.collection.get()["ids"])

    embedder.calls = 0
    again = ingest_path(corpus, store, embedder, settings, progress=False)
    assert embedder.calls == 0 and again.chunks_embedded == 0 and len(again.unchanged) == 5
    assert set(store.collection.get()["ids"]) == ids_before

    changed = corpus / "001_67bca2c928883e00.txt"
    changed.write_text(changed.read_text() + "\nA brand-new closing sentence about zeppelins.\n")
    third = ingest_path(corpus, store, embedder, settings, progress=False)
    assert third.updated == ["001_67bca2c928883e00.txt"] and len(third.unchanged) == 4
    assert 0 < embedder.calls == third.chunks_embedded
    texts = store.collection.get(where={"doc_id": "001_67bca2c928883e00.txt"})["documents"]
    assert any("zeppelins" in t for t in texts)

    (corpus / "004_00e9475819bc7133.txt").unlink()
    fourth = ingest_path(corpus, store, embedder, settings, progress=False)
    assert fourth.deleted == ["004_00e9475819bc7133.txt"]
    assert not store.collection.get(where={"doc_id": "004_00e9475819bc7133.txt"})["ids"]
    assert {m["doc_id"] for m in store.collection.get()["metadatas"]} == {
        "000_0acf8dbdca9c3ed5.txt", "001_67bca2c928883e00.txt", "002_8feaf9a31dabf8c4.txt",
        "003_5a6ab8df16395d7b.txt"}


def test_interrupted_article_is_repaired(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    embedder = MiniLMEmbedding()
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, embedder, settings, progress=False)
    # Simulate a run killed half-way through writing one article's chunks.
    ids = store.collection.get(where={"doc_id": "000_0acf8dbdca9c3ed5.txt"})["ids"]
    store.collection.delete(ids=ids[:1])
    report = ingest_path(corpus, store, embedder, settings, progress=False)
    assert report.updated == ["000_0acf8dbdca9c3ed5.txt"]
    assert len(store.collection.get(where={"doc_id": "000_0acf8dbdca9c3ed5.txt"})["ids"]) == len(ids)


def test_bad_files_are_skipped_and_named(tmp_path: Path, corpus: Path) -> None:
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings, embedder_name(settings))
    report = ingest_path(corpus, store, MiniLMEmbedding(), settings, progress=False)
    skipped = {name for name, _ in report.skipped}
    assert {"empty.txt", "binary.txt"} <= skipped
    assert len(report.added) == 5


def test_folder_without_articles_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "image.png").write_bytes(b"\x89PNG\r\n")
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings, embedder_name(settings))
    with pytest.raises(RagError, match="No articles found"):
        ingest_path(tmp_path / "notes", store, MiniLMEmbedding(), settings, progress=False)


def test_embedding_model_mismatch_asks_for_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    open_store(settings, "some-other-model")
    with pytest.raises(RagError, match="--rebuild"):
        open_store(settings, embedder_name(settings))
    assert open_store(settings, embedder_name(settings), rebuild=True).count() == 0


def test_changing_the_chunk_size_resplits(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", chunk_size=128)
    embedder = MiniLMEmbedding()
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, embedder, settings, progress=False)
    before = store.count()
    report = ingest_path(corpus, store, embedder, settings.with_(chunk_size=64, chunk_overlap=16), progress=False)
    assert len(report.updated) == 5 and store.count() > before
