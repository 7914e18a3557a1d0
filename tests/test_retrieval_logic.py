"""Our own retrieval logic: fusion, the per-article cap, the lexicon, typo correction, question splitting,
and the lexical index (scripted nodes are fine here: these test our code, not a library; the lexical
index and vocabulary are the real SQLite FTS5 tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.conflict import event_words
from rag.answer.decompose import sub_questions
from rag.errors import RagError
from rag.ingest.catalog import ArticleRecord, Catalog, ChunkRecord
from rag.ingest.load import load_path
from rag.ingest.pipeline import chunk_id
from rag.models import Chunk, ScoredChunk
from rag.retrieve import lexical
from rag.retrieve.hybrid import cap_per_doc, rrf
from rag.retrieve.rerank import PATTERNS, question_kind
from rag.retrieve.spelling import IndexVocabulary, correct_spelling
from rag.text.lexicon import Lexicon
from rag.text.tokens import lexical_tokens, stem

SEEDS = Path(__file__).parent.parent / "seeds"
SEED_LEXICON = Lexicon.load(SEEDS / "lexicon.json")
# A lexicon written here, so the mechanism is tested apart from the seeds' own data.
LEXICON = Lexicon(names=(("Hama", "Hamah"), ("Hayat Tahrir al-Sham", "HTS"), ("Turkey", "Türkiye")),
                  words=(("leave", "left", "withdraw", "withdrew", "pull out"),))


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf([(["a", "b"], 1.0), (["b", "c"], 2.0)], k=60)
    assert fused["b"] == 1 / 62 + 2 / 61
    assert fused["a"] == 1 / 61 and fused["c"] == 2 / 62
    assert max(fused, key=fused.__getitem__) == "b"


def _node(doc: str, i: int) -> ScoredChunk:
    return ScoredChunk(node=Chunk(node_id=f"{doc}:{i}", text=f"{doc} {i}", metadata={"doc_id": doc}), score=1.0)


def test_cap_per_doc_keeps_room_for_other_articles_and_tops_up() -> None:
    ranked = [_node("a", 1), _node("a", 2), _node("a", 3), _node("b", 1), _node("a", 4)]
    assert [n.node.node_id for n in cap_per_doc(ranked, 3, cap=2)] == ["a:1", "a:2", "b:1"]
    # Fewer articles than slots: the cap gives way rather than returning fewer passages.
    assert len(cap_per_doc(ranked, 5, cap=1)) == 5


def test_lexicon_matches_name_variants_and_word_groups() -> None:
    assert set(lexical_tokens("Hamah", LEXICON)) == set(lexical_tokens("Hama", LEXICON))
    assert set(lexical_tokens("HTS", LEXICON)) == set(lexical_tokens("Hayat Tahrir al-Sham", LEXICON))
    assert set(lexical_tokens("Türkiye", LEXICON)) == set(lexical_tokens("Turkey", LEXICON))
    assert set(lexical_tokens("the army withdrew", LEXICON)) == set(lexical_tokens("the army pull out", LEXICON))
    assert "Hayat Tahrir al-Sham" in LEXICON.expand("what did HTS do?")
    assert "Hamas" not in LEXICON.expand("Hama")  # whole words only
    # The seeds' own lexicon lives beside the seeds and loads.
    assert set(lexical_tokens("Maaret Nuuman", SEED_LEXICON)) == set(lexical_tokens("Maarat al-Numan", SEED_LEXICON))


def test_without_a_lexicon_words_are_only_folded_and_stemmed() -> None:
    empty = Lexicon()
    assert lexical_tokens("The Cities of Türkiye", empty) == lexical_tokens("city turkiye", empty) == ["city", "turkiy"]
    assert empty.expand("what did HTS do?") == "what did HTS do?"
    assert stem("forces") == stem("forced") == stem("force") and stem("Damascus".lower()) == "damascus"


def test_event_words_are_the_questions_lower_case_words_not_a_token_format() -> None:
    # "words" once counted as an event because group tokens were found by their spelling.
    assert event_words("When did the army leave Hama?", LEXICON) == set(lexical_tokens("army left", LEXICON))
    assert event_words("When did HTS take Aleppo?", Lexicon()) == {"take"}
    assert not Lexicon.is_group_token(stem("words"))


def test_a_broken_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.json"
    bad.write_text('{"names": [["Hama", ')
    with pytest.raises(RagError, match="lexicon"):
        Lexicon.load(bad)


def catalog_of(folder: Path, texts: dict[str, tuple[str, int]]) -> Catalog:
    """A real catalogue (SQLite FTS5) holding each text as a one-chunk article: doc_id -> (text, day)."""
    catalog = Catalog(folder / "catalog.sqlite", LEXICON)
    for doc_id, (text, day) in texts.items():
        chunk = ChunkRecord(chunk_id(text), text, 0, 0, len(text))
        catalog.put_article(ArticleRecord("origin", doc_id, "v1", {"doc_id": doc_id}, day, [chunk]))
    return catalog


@pytest.fixture(scope="module")
def seed_vocab(tmp_path_factory: pytest.TempPathFactory) -> IndexVocabulary:
    articles = load_path(SEEDS).articles
    catalog = catalog_of(tmp_path_factory.mktemp("vocab"), {a.doc_id: (a.text, 0) for a in articles})
    return IndexVocabulary(lambda: catalog.conn)


def test_spelling_moves_towards_the_corpus_and_leaves_names_alone(seed_vocab: IndexVocabulary) -> None:
    vocab = seed_vocab
    assert correct_spelling("wen did the armey leave Hamah?", vocab) == "when did the army leave Hamah?"
    assert correct_spelling("irans foriegn minister", vocab) == "irans foreign minister"
    assert correct_spelling("who won the match against Al-Hilal?", vocab) == "who won the match against Al-Hilal?"
    # Stop words are not in the lexical index, yet they are words: a follow-up's "they" stays "they".
    assert correct_spelling("when did they take it?", vocab) == "when did they take it?"
    assert correct_spelling("what did their leaders say?", vocab) == "what did their leaders say?"


def test_question_kinds_and_answer_patterns() -> None:
    assert question_kind("when did the army leave Hama?") == "date"
    assert question_kind("How far is Hama from Homs?") == "distance"
    assert question_kind("How many villages were retaken?") == "number"
    assert question_kind("Which newspaper reported it?") == "name"
    assert question_kind("Name the Iranian general") == "name"
    assert question_kind("Why did the army withdraw?") == "reason"
    assert PATTERNS["distance"].search("around five kilometers northeast")
    assert PATTERNS["number"].findall("since March 2020, 16 dead") == ["16"]  # a year is not a count


def test_compound_questions_split_into_parts() -> None:
    assert sub_questions("How far is Hama from Damascus, and how far were HTS fighters pushed back?") == [
        "How far is Hama from Damascus", "how far were HTS fighters pushed back?"]
    assert len(sub_questions("Is Iran stepping up or limiting its help to Assad?")) == 2
    assert sub_questions("when did the army leave Hama?") == ["when did the army leave Hama?"]


def test_a_which_question_with_two_traits_asks_for_one_answer() -> None:
    """"Which band is dropping a new single and will reunite for a tour?" is one band: not split. Parallel
    claims ("reported that A and that B") and "Name X and Y" still are."""
    one = "Which band announced this week it's dropping a new single and will reunite for a tour?"
    assert sub_questions(one) == [one]
    assert len(sub_questions("Which outlets reported that the army was leaving the city and that its allies "
                             "would send more troops?")) == 2
    assert len(sub_questions("Name the general sent to lead the advisers and the ambassador to Syria.")) == 2


def test_lexical_search_ranks_filters_by_day_and_follows_removals(tmp_path: Path) -> None:
    texts = {"a": ("the army left Hama", 20241205), "b": ("Iran warned Assad", 20241202),
             "c": ("rebels took Aleppo", 0)}
    catalog = catalog_of(tmp_path, texts)
    assert catalog.newest_day() == 20241205  # asked on or after it, a question needs no date filter
    hits = lexical.search(catalog.conn, lexical_tokens("Hamah army", LEXICON), 5)
    assert [h[0] for h in hits] == [chunk_id(texts["a"][0])] and hits[0][1] > 0
    # max_day keeps articles published up to that day, and undated ones.
    early = lexical.search(catalog.conn, lexical_tokens("army Aleppo", LEXICON), 5, max_day=20241204)
    assert [h[0] for h in early] == [chunk_id(texts["c"][0])]
    assert len(lexical.search(catalog.conn, lexical_tokens("army Aleppo", LEXICON), 5, max_day=20241205)) == 2
    # An added article is found at once; a removed one is gone, from the ranking and from the vocabulary.
    catalog.put_article(ArticleRecord("origin", "d", "v1", {"doc_id": "d"}, 0,
                                      [ChunkRecord(chunk_id("Hama fell"), "Hama fell", 0, 0, 9)]))
    assert len(lexical.search(catalog.conn, lexical_tokens("Hama", LEXICON), 5)) == 2
    catalog.drop_article("origin", "a")
    assert [h[0] for h in lexical.search(catalog.conn, lexical_tokens("Hama army", LEXICON), 5)] == [
        chunk_id("Hama fell")]
    vocab = IndexVocabulary(lambda: catalog.conn)
    assert "fell" in vocab and "army" not in vocab


def test_spelling_leaves_other_forms_of_a_known_word_alone(tmp_path: Path) -> None:
    catalog = catalog_of(tmp_path, {"a": ("The footbridge opens to walkers on Friday.", 0)})
    vocab = IndexVocabulary(lambda: catalog.conn)
    assert correct_spelling("when did the footbridge open?", vocab) == "when did the footbridge open?"


def _synthetic_corpus(n: int, seed: int = 7) -> dict[str, tuple[str, int]]:
    """n one-chunk articles over a Zipf-like vocabulary: a few words in most chunks, many in few."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{i}x" for i in range(400)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return {f"d{i}": (" ".join(rng.choices(vocab, weights, k=rng.randint(5, 40))) + f" tag{i}q",
                      20220101 + i % 28) for i in range(n)}


def _stats_tables(catalog: Catalog) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    conn = catalog.conn
    terms = conn.execute("SELECT term, df FROM lex_terms WHERE df > 0 ORDER BY term").fetchall()
    return terms, conn.execute("SELECT chunks, tokens FROM lex_totals").fetchall()


def test_term_statistics_follow_every_write_and_rebuild_to_the_same(tmp_path: Path) -> None:
    corpus = _synthetic_corpus(60)
    catalog = catalog_of(tmp_path, corpus)
    for doc in ("d3", "d10", "d11"):
        catalog.drop_article("origin", doc)
    kept = _stats_tables(catalog)
    assert kept[1][0][0] == 57
    with catalog.write() as conn:
        lexical.rebuild_stats(conn)  # from FTS5's own vocabulary
    assert _stats_tables(catalog) == kept
    # A catalogue written before the statistics were kept gets them when it is opened.
    with catalog.write() as conn:
        conn.execute("DELETE FROM lex_terms")
        conn.execute("DELETE FROM lex_totals")
    catalog.close()
    assert _stats_tables(Catalog(tmp_path / "catalog.sqlite", LEXICON)) == kept


@pytest.mark.parametrize("max_day", [None, 20220110])
def test_pruned_lexical_search_matches_fts5_bm25(tmp_path: Path, max_day: int | None) -> None:
    catalog = catalog_of(tmp_path, _synthetic_corpus(400))
    queries = [["w0x", "w1x", "w2x", "w150x", "w230x"], ["w3x", "w5x", "w301x", "tag17q"], ["w0x", "w1x", "w399x"]]
    everything = lexical.Pruning(postings=10**9)
    for tokens in queries:
        exact = lexical.search(catalog.conn, tokens, 10, max_day, everything)
        assert len(exact) == 10
        # A budget far below the common words' postings, with rounds enough to prove the top k: the
        # same chunks, the same order and FTS5's own scores.
        proven = lexical.search(catalog.conn, tokens, 10, max_day, lexical.Pruning(postings=50, pool=20, rounds=8))
        assert [c for c, _ in proven] == [c for c, _ in exact]
        assert [s for _, s in proven] == pytest.approx([s for _, s in exact], rel=1e-9)
        # One round: the best of the rare words' pool, each scored on every word as FTS5 would.
        quick = lexical.search(catalog.conn, tokens, 10, max_day, lexical.Pruning(postings=50, pool=100))
        scores = dict(lexical.search(catalog.conn, tokens, 400, max_day, everything))
        assert [s for _, s in quick] == pytest.approx([scores[c] for c, _ in quick], rel=1e-9)
        assert all(q <= e + 1e-9 for (_, q), (_, e) in zip(quick, exact, strict=False))  # never above the truth
