"""The real Chroma index in a temp dir: incremental ingest, model mismatch, rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.assistant import Assistant
from rag.errors import RagError
from rag.ingest.embed import MiniLMEncoder, embedder_name
from rag.ingest.pipeline import ingest_path
from rag.ingest.store import Store, open_store
from rag.settings import Settings

SEEDS = Path(__file__).parent.parent / "seeds"


class CountingMiniLM(MiniLMEncoder):
    """The real embedder, counting how many texts it was asked to embed."""

    calls: int = 0

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                         ) -> tuple[np.ndarray, list[np.ndarray]]:
        self.calls += len(texts)
        return super().embed_with_spans(texts, spans)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def texts_of(store: Store, doc_id: str) -> list[str]:
    """The chunk texts the catalogue holds for an article, in order."""
    rows = store.catalog.conn.execute(
        "SELECT c.text FROM refs r JOIN chunks c ON c.id = r.chunk JOIN articles a ON a.id = r.article "
        "WHERE a.doc_id = ? ORDER BY r.position", (doc_id,))
    return [t for (t,) in rows]


def chunk_ids(store: Store) -> set[str]:
    """Every chunk id of the catalogue."""
    return {c for (c,) in store.catalog.conn.execute("SELECT chunk_id FROM chunks")}


def test_incremental_ingest(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    embedder = CountingMiniLM()
    store = open_store(settings, embedder_name(settings))

    first = ingest_path(corpus, store, embedder, settings, progress=False)
    assert len(first.added) == 5 and first.chunks_embedded == store.count() == embedder.calls > 5
    assert store.collection.count() == store.count()  # one vector per distinct chunk, no strays
    ids_before = chunk_ids(store)

    embedder.calls = 0
    again = ingest_path(corpus, store, embedder, settings, progress=False)
    assert embedder.calls == 0 and again.chunks_embedded == 0 and len(again.unchanged) == 5
    assert chunk_ids(store) == ids_before

    changed = corpus / "001_67bca2c928883e00.txt"
    changed.write_text(changed.read_text() + "\nA brand-new closing sentence about zeppelins.\n")
    third = ingest_path(corpus, store, embedder, settings, progress=False)
    assert third.updated == ["001_67bca2c928883e00.txt"] and len(third.unchanged) == 4
    # Only the chunks whose text changed are embedded again: the rest keep their vectors.
    assert 0 < embedder.calls == third.chunks_embedded < len(texts_of(store, "001_67bca2c928883e00.txt"))
    assert any("zeppelins" in t for t in texts_of(store, "001_67bca2c928883e00.txt"))
    assert store.collection.count() == store.count()

    gone = set(texts_of(store, "004_00e9475819bc7133.txt"))
    (corpus / "004_00e9475819bc7133.txt").unlink()
    fourth = ingest_path(corpus, store, embedder, settings, progress=False)
    assert fourth.deleted == ["004_00e9475819bc7133.txt"]
    assert not texts_of(store, "004_00e9475819bc7133.txt")
    assert not gone & {n.get_content() for n in store.all_nodes()}
    assert {n.metadata["doc_id"] for n in store.all_nodes()} == {
        "000_0acf8dbdca9c3ed5.txt", "001_67bca2c928883e00.txt", "002_8feaf9a31dabf8c4.txt",
        "003_5a6ab8df16395d7b.txt"}
    assert store.collection.count() == store.count()


def test_interrupted_article_is_repaired(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    embedder = CountingMiniLM()
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, embedder, settings, progress=False)
    doc = "000_0acf8dbdca9c3ed5.txt"
    texts = texts_of(store, doc)
    # A run killed after writing an article's vectors but before its catalogue transaction committed:
    # the catalogue has no trace of the article, Chroma still has the vectors, and the sentence vectors
    # written with them are still there.
    kept = store.catalog.conn.execute("SELECT * FROM sentences").fetchall()
    store.catalog.drop_article(str(corpus.resolve()), doc)
    with store.catalog.write() as conn:
        conn.executemany("INSERT OR REPLACE INTO sentences VALUES (?, ?, ?)", kept)
    assert not texts_of(store, doc) and store.collection.count() > store.count()
    embedder.calls = 0
    report = ingest_path(corpus, store, embedder, settings, progress=False)
    assert report.added == [doc] and len(report.unchanged) == 4
    assert texts_of(store, doc) == texts
    assert embedder.calls == 0  # the vectors already written were reused, not computed again
    # Killed earlier, before the vectors were written: they are computed on the next run.
    store.delete_doc(str(corpus.resolve()), doc)
    report = ingest_path(corpus, store, embedder, settings, progress=False)
    assert report.added == [doc] and embedder.calls == len(set(texts)) and texts_of(store, doc) == texts


def test_bad_files_are_skipped_and_named(tmp_path: Path, corpus: Path) -> None:
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 8)
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings, embedder_name(settings))
    report = ingest_path(corpus, store, MiniLMEncoder(), settings, progress=False)
    skipped = {name for name, _ in report.skipped}
    assert {"empty.txt", "binary.txt"} <= skipped
    assert len(report.added) == 5


def test_a_file_that_breaks_after_indexing_keeps_its_earlier_version(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, MiniLMEncoder(), settings, progress=False)
    doc = "001_67bca2c928883e00.txt"
    texts = texts_of(store, doc)
    (corpus / doc).write_bytes(b"\xff\xfe\x00")  # truncated mid-save
    (corpus / "new.txt").write_bytes(bytes(range(256)))
    report = ingest_path(corpus, store, MiniLMEncoder(), settings, progress=False)
    assert {name for name, _ in report.skipped} == {doc, "new.txt"}
    assert report.kept == [doc] and not report.deleted  # never indexed: nothing to keep for new.txt
    assert texts_of(store, doc) == texts


def test_folder_without_articles_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "image.png").write_bytes(b"\x89PNG\r\n")
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings, embedder_name(settings))
    with pytest.raises(RagError, match="No articles found"):
        ingest_path(tmp_path / "notes", store, MiniLMEncoder(), settings, progress=False)


def test_embedding_model_mismatch_asks_for_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    open_store(settings, "some-other-model")
    with pytest.raises(RagError, match="--rebuild"):
        open_store(settings, embedder_name(settings))
    assert open_store(settings, embedder_name(settings), rebuild=True).count() == 0


def test_changing_the_chunk_size_resplits(tmp_path: Path, corpus: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", chunk_size=128)
    embedder = MiniLMEncoder()
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, embedder, settings, progress=False)
    before = store.count()
    report = ingest_path(corpus, store, embedder, settings.with_(chunk_size=64, chunk_overlap=16), progress=False)
    assert len(report.updated) == 5 and store.count() > before


def test_sentence_vectors_are_kept_at_ingest(tmp_path: Path, corpus: Path) -> None:
    """Each chunk's sentences get vectors in the same model pass as the chunk; the answerer reads them from
    the index instead of embedding ~200 sentences per question, and they are deleted with their chunk."""
    from rag.models import Passage
    from rag.retrieve.rerank import SentenceScorer
    from rag.text.lexicon import Lexicon
    from rag.text.sentences import sentence_spans

    settings = Settings(data_dir=tmp_path / "data")
    embedder = CountingMiniLM()
    store = open_store(settings, embedder_name(settings))
    ingest_path(corpus, store, embedder, settings, progress=False)
    nodes = store.all_nodes()
    stored = store.sentence_vectors([n.node_id for n in nodes])
    assert set(stored) == {n.node_id for n in nodes}
    for node in nodes:
        spans = sentence_spans(node.get_content())
        assert set(stored[node.node_id]) <= set(spans) and len(stored[node.node_id]) >= len(spans) - 1
        for vec in stored[node.node_id].values():
            assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    # A stored sentence vector points where the sentence's own embedding does (read in its chunk's context).
    node = nodes[0]
    (s, e), vec = next(iter(stored[node.node_id].items()))
    alone = embedder.embed([node.get_content()[s:e]])[0]
    assert float(vec @ alone) > 0.6

    scorer = SentenceScorer(embedder, Lexicon(), settings.answer, stored=store.sentence_vectors)
    passages = [Passage(node=n, score=1.0, number=i) for i, n in enumerate(nodes[:5], start=1)]
    embedder.calls = 0
    ranked = scorer.rank("When did the army leave the city?", passages)
    assert ranked and embedder.calls <= 1 + sum(len(sentence_spans(p.text)) - len(stored[p.node.node_id])
                                                for p in passages)  # the question, and any cut-off sentence

    doc = str(nodes[0].metadata["doc_id"])
    gone = {n.node_id for n in nodes if n.metadata["doc_id"] == doc}
    store.delete_doc(str(corpus.resolve()), doc)
    assert not set(store.sentence_vectors(sorted(gone))) - {n.node_id for n in store.all_nodes()}


def test_chunk_whose_sentences_are_all_truncated(tmp_path: Path) -> None:
    """A title long enough to fill the model's 256 tokens leaves no sentence a stored vector: the article is
    still ingested, and the answerer embeds its sentences when asked (this crashed ingest once)."""
    from rag.assistant import Assistant

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("The council approved the budget on Monday. It costs 4 million dollars. "
                                  "Residents were pleased with the vote.\n", encoding="utf-8")
    (folder / "a.meta.json").write_text(json.dumps({"title": " ".join(f"word{i}" for i in range(400))}),
                                        encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", seeds_dir=tmp_path / "none", llm="extractive"))
    report = assistant.ingest(folder)
    assert report.added == ["a.txt"] and not report.skipped
    ids = [n.node_id for n in assistant.store.all_nodes()]
    assert assistant.store.sentence_vectors(ids) == {i: {} for i in ids}
    answer = assistant.ask("How much does the budget cost?")
    assert answer.kind == "answer" and "4 million dollars" in answer.text  # read in context, as at ingest


def test_serving_does_not_import_llama_index_and_adapters_do(tmp_path: Path, corpus: Path) -> None:
    # A fresh interpreter: asking over an existing index must not pay llama-index's import (~1.5 s).
    import subprocess
    import sys

    data = tmp_path / "data"
    assistant = Assistant(Settings(data_dir=data, seeds_dir=tmp_path / "none", llm="extractive"))
    assistant.ingest(corpus)
    probe = ("import sys; from rag import Assistant, Settings; from pathlib import Path; "
             f"a = Assistant(Settings(data_dir=Path({str(data)!r}), seeds_dir=Path('none'), llm='extractive')); "
             "ans = a.ask('When did the army leave Hama?'); "
             "print(ans.kind, sorted({m.split('.')[0] for m in sys.modules if m.startswith('llama_index')}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "answer" and out.strip().endswith("[]"), out

    # llama-index code still gets its own types: TextNodes from the retriever, vectors from the embedding
    from llama_index.core.schema import TextNode

    from rag.ingest.llama_embedding import MiniLMEmbedding

    hits = assistant.retriever.as_llama_retriever().retrieve("When did the army leave Hama?")
    assert hits and all(isinstance(h.node, TextNode) for h in hits)
    assert [h.node.get_content() for h in hits] == [
        r.node.text for r in assistant.retriever.search("When did the army leave Hama?", assistant.settings.top_k)]
    vec = MiniLMEmbedding(encoder=assistant.embedder).get_query_embedding("Hama")
    assert np.allclose(vec, assistant.embedder.get_query_embedding("Hama"))


def test_ingest_gives_an_older_index_the_lower_hnsw_sync_threshold(tmp_path: Path, corpus: Path) -> None:
    # An index created with Chroma's default (1000) would leave up to 999 vectors for every later start to
    # replay; the next ingest lowers it, and new indexes start with it.
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from rag.ingest.store import EMBED_KEY, HNSW_SYNC_THRESHOLD, LAYOUT, LAYOUT_KEY

    settings = Settings(data_dir=tmp_path / "data", seeds_dir=tmp_path / "none", llm="extractive")
    settings.index_dir.mkdir(parents=True)
    client = chromadb.PersistentClient(path=str(settings.index_dir),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    client.create_collection(settings.collection, metadata={EMBED_KEY: embedder_name(settings), LAYOUT_KEY: LAYOUT,
                                                            "hnsw:space": "cosine"})
    store = open_store(settings, embedder_name(settings))
    assert store.collection.configuration["hnsw"]["sync_threshold"] == 1000
    ingest_path(corpus, store, MiniLMEncoder(), settings, progress=False)
    assert client.get_collection(settings.collection).configuration["hnsw"]["sync_threshold"] == HNSW_SYNC_THRESHOLD
    assert store.count() > 0 and store.dense(store.collection.get(limit=1, include=["embeddings"])["embeddings"][0]
                                             .tolist(), 3)

    fresh = open_store(Settings(data_dir=tmp_path / "fresh"), embedder_name(settings))
    assert fresh.collection.configuration["hnsw"]["sync_threshold"] == HNSW_SYNC_THRESHOLD


def test_encoder_process_gives_the_in_process_vectors_and_reports_errors(tmp_path: Path, corpus: Path) -> None:
    """`rag ask`'s helper process runs the same model: the same vectors (span vectors included), an index
    built through it keeps sentence vectors, a failure comes back as a RagError, and close ends the child."""
    from rag.ingest.embed import SpanEmbedder
    from rag.ingest.embed_process import EncoderProcess

    local = MiniLMEncoder()
    with EncoderProcess.start(8) as remote:
        assert isinstance(remote, SpanEmbedder) and remote.model_name == local.model_name
        texts = ["The army left Hama on December 5.", "Prices rose."]
        assert np.allclose(remote.get_text_embedding_batch(texts), local.get_text_embedding_batch(texts), atol=1e-5)
        assert np.allclose(remote.get_query_embedding("Hama?"), local.get_query_embedding("Hama?"), atol=1e-5)
        pooled, spans = remote.embed_with_spans(texts, [[(0, 8)], []])
        want_pooled, want_spans = local.embed_with_spans(texts, [[(0, 8)], []])
        assert np.allclose(pooled, want_pooled, atol=1e-5) and np.allclose(spans[0], want_spans[0], atol=1e-5)
        with pytest.raises(RagError, match="unknown encoder method"):
            remote._call("__init__")
        settings = Settings(data_dir=tmp_path / "data", seeds_dir=tmp_path / "none", llm="extractive")
        assistant = Assistant(settings, embedder=remote)
        assistant.ingest(corpus)
        ids = [n.node_id for n in assistant.store.all_nodes()]
        assert all(assistant.store.sentence_vectors(ids).values())
        assert "December 5" in assistant.ask("When did the army leave Hama?").text
        child = remote._proc
        child.kill()  # a helper that dies mid-command: the next vectors come from a model loaded in process
        child.wait()
        assert np.allclose(remote.get_text_embedding("Prices rose."), local.get_text_embedding("Prices rose."),
                           atol=1e-5)
    assert child.poll() is not None


def test_a_question_led_by_context_is_embedded_for_what_it_asks() -> None:
    """"X happened. What ...?": the asking sentence gets a share of the question's vector, so the sentence
    that answers gains on the one that restates the context; a one-sentence question is unchanged."""
    from rag.models import Chunk, Passage
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig
    from rag.text.lexicon import Lexicon

    text = ("Divers found a rare bronze coin off the coast of the island last week. "
            "The coin shows a leaping dolphin beside a crescent moon. "
            "The museum will put it on display next spring.")
    passage = Passage(node=Chunk(text=text, metadata={"doc_id": "a.txt"}), score=1.0, number=1)
    embedder = MiniLMEncoder()

    def dense(question: str, share: float) -> dict[str, float]:
        scorer = SentenceScorer(embedder, Lexicon(), AnswerConfig(asking_share=share))
        return {c.text.split()[1]: c.dense for c in scorer.rank(question, [passage])}

    led = "A rare bronze coin was found by divers off the island's coast. What animal does it show?"
    whole, asked = dense(led, 0.0), dense(led, 0.5)
    assert whole["found"] > whole["coin"] and asked["coin"] > asked["found"]
    assert asked["coin"] - asked["found"] > whole["coin"] - whole["found"] + 0.05
    single = "What animal does the rare bronze coin show?"
    assert dense(single, 0.0) == dense(single, 0.5)
