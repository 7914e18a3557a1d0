"""Duplicates and scale, on the real embedder and the real Chroma: identical chunk text is stored once,
syndicated copies collapse into one source, and a question reads only what it retrieves."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.ingest.catalog import ArticleRecord, ChunkRecord
from rag.ingest.pipeline import chunk_id
from rag.settings import Settings

PLACES = ["Harlow", "Dunmore", "Kestrel Bay", "Ossington", "Varna Heights", "Millbrook", "Tarrow"]
THINGS = ["footbridge", "tram line", "water plant", "library", "ferry terminal", "stadium", "market hall"]


def story(rng: random.Random, place: str, thing: str, day: int, sentences: int = 14) -> str:
    """A small generated news article about one local project, with enough varied sentences to chunk."""
    lines = [f"The new {thing} in {place} opened on March {day}, officials said."]
    for i in range(sentences):
        n = rng.randint(2, 900)
        who = rng.choice(["the mayor", "a council engineer", "residents", "the contractor", "a spokeswoman"])
        lines.append(f"{who.capitalize()} said phase {i + 1} of the {thing} cost {n} thousand pounds "
                     f"and took {rng.randint(2, 40)} weeks in {place}.")
    return " ".join(lines)


def write(folder: Path, name: str, text: str, **meta: str) -> None:
    """An article file and its sidecar."""
    (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture()
def assistant(tmp_path: Path) -> Assistant:
    return Assistant(Settings(data_dir=tmp_path / "data", seeds_dir=tmp_path / "no-seeds", llm="extractive"))


def test_identical_chunks_are_stored_once_and_cite_a_real_article(tmp_path: Path, assistant: Assistant) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    text = story(random.Random(1), "Harlow", "footbridge", 3)
    write(folder, "a", text, outlet="Harlow Post", title="Footbridge opens")
    write(folder, "b", text, outlet="County Wire", title="Harlow footbridge opens")
    report = assistant.ingest(folder)
    store = assistant.store
    chunks_of_one = len({n.node_id for n in store.all_nodes()})
    assert report.chunks_embedded == chunks_of_one == store.count() == store.collection.count()

    # The owner leaves: its chunks stay, now shown from the other article, with spans into that article.
    (folder / "a.txt").unlink()
    (folder / "a.meta.json").unlink()
    assistant.ingest(folder)
    nodes = store.all_nodes()
    assert len(nodes) == chunks_of_one and {n.metadata["doc_id"] for n in nodes} == {"b.txt"}
    article = (folder / "b.txt").read_text(encoding="utf-8")
    for node in nodes:
        assert article[node.start_char_idx : node.end_char_idx] == node.get_content()
    (folder / "b.txt").unlink()
    (folder / "b.meta.json").unlink()
    write(folder, "c", story(random.Random(2), "Tarrow", "library", 9), outlet="Tarrow Times")
    assistant.ingest(folder)
    assert store.count() == store.collection.count()
    assert {n.metadata["doc_id"] for n in store.all_nodes()} == {"c.txt"}


def test_syndicated_copies_collapse_into_one_source(tmp_path: Path, assistant: Assistant) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    rng = random.Random(7)
    original = story(rng, "Dunmore", "tram line", 3)
    # The wire copy: another site's byline in front, the last sentence cut, and one day corrected.
    copy = "By County Wire staff. " + original.rsplit(" ", 20)[0].replace("March 3", "March 4") + "."
    write(folder, "dunmore-post", original, outlet="Dunmore Post", url="https://dunmore.example/tram")
    write(folder, "county-wire", copy, outlet="County Wire", url="https://wire.example/dunmore-tram")
    for i, (place, thing) in enumerate(zip(PLACES[2:], THINGS[2:], strict=False)):
        write(folder, f"other{i}", story(rng, place, thing, 10 + i), outlet=f"{place} Gazette")
    assistant.ingest(folder)

    keys = {n.metadata["doc_id"]: n.metadata["source_key"] for n in assistant.store.all_nodes()}
    assert keys["dunmore-post.txt"] == keys["county-wire.txt"]
    assert len(set(keys.values())) == len(PLACES) - 2 + 1  # every other story is its own source

    answer = assistant.ask("When did the Dunmore tram line open?")
    # The two copies give March 3 and March 4, but they are one source: no "sources disagree".
    assert answer.kind == "answer", answer.text
    cited = answer.citations[0]
    assert cited.doc_id in ("dunmore-post.txt", "county-wire.txt")
    other = "County Wire" if cited.doc_id == "dunmore-post.txt" else "Dunmore Post"
    assert [a.outlet for a in cited.also_published] == [other]
    data = answer.to_dict()["citations"][0]
    assert data["also_published"][0]["outlet"] == other and data["also_published"][0]["url"].startswith("https://")


def test_asking_reads_only_what_it_retrieves(tmp_path: Path, assistant: Assistant) -> None:
    """The question-time work must not grow with the corpus: 20,000 more chunks (recorded straight into
    the catalogue, on words no question here uses) leave the SQLite work of a question about the same."""
    folder = tmp_path / "articles"
    folder.mkdir()
    rng = random.Random(3)
    for place, thing in zip(PLACES, THINGS, strict=True):
        write(folder, place.lower().replace(" ", "-"), story(rng, place, thing, 5), outlet=f"{place} News")
    assistant.ingest(folder)
    question = "When did the Ossington water plant open?"
    before = sqlite_steps(assistant, question)

    catalog = assistant.store.catalog
    words = ["".join(rng.choice("xz") + rng.choice("aeiou") for _ in range(4)) for _ in range(300)]
    for a in range(200):
        chunks = []
        for i in range(100):
            text = " ".join(rng.choice(words) for _ in range(60)) + f" {a} {i}"
            chunks.append(ChunkRecord(chunk_id(text), text, i, 0, len(text)))
        catalog.put_article(ArticleRecord("elsewhere", f"filler{a}", "v", {"doc_id": f"filler{a}"}, 0, chunks))
    assert assistant.store.count() > 20_000

    after = sqlite_steps(assistant, question)
    assert after < 2 * before, (before, after)


def sqlite_steps(assistant: Assistant, question: str) -> int:
    """SQLite virtual-machine steps (in tens) one `ask` costs on this thread's catalogue connection."""
    conn: sqlite3.Connection = assistant.store.catalog.conn
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(tick, 10)
    try:
        assert assistant.ask(question).kind == "answer"
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0]
