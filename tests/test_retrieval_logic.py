"""Our own retrieval logic: fusion, the per-article cap, the lexicon, typo correction, question splitting,
and the persisted BM25 side (scripted nodes are fine here: these test our code, not a library)."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from rag.answer.conflict import event_words
from rag.answer.decompose import sub_questions
from rag.errors import RagError
from rag.retrieve.hybrid import cap_per_doc, load_or_build_lexical, rrf
from rag.retrieve.rerank import PATTERNS, question_kind
from rag.retrieve.spelling import correct_spelling, vocabulary
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


def _node(doc: str, i: int) -> NodeWithScore:
    return NodeWithScore(node=TextNode(id_=f"{doc}:{i}", text=f"{doc} {i}", metadata={"doc_id": doc}), score=1.0)


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


def test_spelling_moves_towards_the_corpus_and_leaves_names_alone() -> None:
    vocab = vocabulary(p.read_text() for p in SEEDS.glob("*.txt"))
    assert correct_spelling("wen did the armey leave Hamah?", vocab) == "when did the army leave Hamah?"
    assert correct_spelling("irans foriegn minister", vocab) == "irans foreign minister"
    assert correct_spelling("who won the match against Al-Hilal?", vocab) == "who won the match against Al-Hilal?"


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


def test_bm25_index_is_persisted_and_rebuilt_when_the_collection_changes(tmp_path: Path) -> None:
    nodes = [TextNode(id_=f"n{i}", text=t, metadata={"content_hash": "h"})
             for i, t in enumerate(["the army left Hama", "Iran warned Assad", "rebels took Aleppo"])]
    first = load_or_build_lexical(nodes, LEXICON, tmp_path / "bm25")
    assert (tmp_path / "bm25" / "meta.json").exists()
    again = load_or_build_lexical(nodes, LEXICON, tmp_path / "bm25")
    assert again.fingerprint == first.fingerprint
    assert again.search(lexical_tokens("Hamah army", LEXICON), 1)[0][0] == "n0"
    changed = [*nodes, TextNode(id_="n3", text="Hama fell to rebels", metadata={"content_hash": "h"})]
    rebuilt = load_or_build_lexical(changed, LEXICON, tmp_path / "bm25")
    assert rebuilt.fingerprint != first.fingerprint and "n3" in rebuilt.ids
    # Another lexicon tokenises differently, so the persisted index is rebuilt for it.
    other = load_or_build_lexical(changed, Lexicon(), tmp_path / "bm25")
    assert other.fingerprint != rebuilt.fingerprint


def test_spelling_leaves_other_forms_of_a_known_word_alone() -> None:
    vocab = vocabulary(["The footbridge opens to walkers on Friday."])
    assert correct_spelling("when did the footbridge open?", vocab) == "when did the footbridge open?"
