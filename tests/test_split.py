"""Chunking: exact spans, token budgets measured with the same tokenizer, deterministic ids."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiktoken
from llama_index.core.schema import MetadataMode

from rag.errors import RagError
from rag.ingest.load import load_path
from rag.ingest.split import chunk_spans, count_tokens, split_article, split_articles
from rag.models import Article
from rag.text.sentences import sentence_spans

SEEDS = Path(__file__).parent.parent / "seeds"
SIZES = [(160, 32), (64, 16), (40, 0), (24, 8), (512, 64)]
CLOSING = "\"'”’)]»"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return load_path(SEEDS).articles


def test_tokenizer_is_tiktoken_cl100k(articles: list[Article]) -> None:
    count_tokens("warm up")  # loads cl100k_base from llama-index's bundled cache
    encoding = tiktoken.get_encoding("cl100k_base")
    for article in articles:
        assert count_tokens(article.text) == len(encoding.encode(article.text))


@pytest.mark.parametrize(("size", "overlap"), SIZES)
def test_every_chunk_is_an_exact_slice_within_budget(articles: list[Article], size: int,
                                                     overlap: int) -> None:
    for article in articles:
        nodes = split_article(article, size, overlap)
        assert nodes
        for i, node in enumerate(nodes):
            assert node.start_char_idx is not None and node.end_char_idx is not None
            assert article.text[node.start_char_idx:node.end_char_idx] == node.text
            assert count_tokens(node.text) <= size
            assert node.text == node.text.strip()
            assert node.id_ == f"{article.doc_id}::{i}"
            assert node.metadata == article.metadata() | {"chunk": i}
            assert node.ref_doc_id == article.doc_id


@pytest.mark.parametrize(("size", "overlap"), SIZES)
def test_chunks_cover_the_article_in_order(articles: list[Article], size: int, overlap: int) -> None:
    for article in articles:
        spans = chunk_spans(article.text, size, overlap)
        assert spans[0][0] == 0 and spans[-1][1] == len(article.text)
        for (start, end), (next_start, next_end) in zip(spans, spans[1:], strict=False):
            assert start < next_start and end < next_end  # always moving forward
            assert next_start <= end or article.text[end:next_start].isspace()  # no text falls between
            if next_start < end:
                assert count_tokens(article.text[next_start:end]) <= overlap


def test_chunks_are_sentence_aligned(articles: list[Article]) -> None:
    for article in articles:
        text = article.text
        spans = sentence_spans(text)
        assert max(count_tokens(text[s:e]) for s, e in spans) < 160  # so no sentence needs cutting
        starts = {s for s, _ in spans}
        for start, end in chunk_spans(text, 160, 32):
            assert start in starts
            # A chunk ends where a sentence does, or just after its closing quote.
            assert any(e <= end and text[e:end].strip(CLOSING) == "" for _, e in spans), text[end - 20:end]


def test_overlap_repeats_trailing_sentences(articles: list[Article]) -> None:
    spans = chunk_spans(articles[0].text, 64, 32)
    assert any(next_start < end for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))
    apart = chunk_spans(articles[0].text, 64, 0)
    assert all(next_start >= end for (_, end), (next_start, _) in zip(apart, apart[1:], strict=False))


def test_split_is_deterministic(articles: list[Article]) -> None:
    first = [(n.id_, n.text) for n in split_articles(articles, 160, 32)]
    second = [(n.id_, n.text) for n in split_articles(articles, 160, 32)]
    assert first == second
    assert len({node_id for node_id, _ in first}) == len(first)


def test_embedding_text_has_title_but_no_bookkeeping(articles: list[Article]) -> None:
    article = next(a for a in articles if a.title)
    node = split_article(article, 160, 32)[0]
    embed_text = node.get_content(metadata_mode=MetadataMode.EMBED)
    assert f"title: {article.title}" in embed_text
    for hidden in (article.content_hash, article.doc_id, "chunk:"):
        assert hidden not in embed_text
    llm_text = node.get_content(metadata_mode=MetadataMode.LLM)
    assert article.content_hash not in llm_text and node.text in llm_text


def test_sentence_longer_than_the_budget_is_cut_at_words() -> None:
    text = "Intro sentence. " + " ".join(f"word{i}" for i in range(400)) + ". Outro sentence."
    article = Article(doc_id="long.txt", text=text, source="long.txt")
    nodes = split_article(article, 50, 10)
    assert len(nodes) > 5
    for node in nodes:
        assert text[node.start_char_idx:node.end_char_idx] == node.text
        assert count_tokens(node.text) <= 50
        assert not node.text.endswith("wor") and not node.text[0].isspace()
    words = " ".join(node.text for node in nodes).replace(".", " ").split()
    assert all(f"word{i}" in words for i in range(400))


def test_unbroken_run_is_cut_by_characters() -> None:
    text = "x" * 3000
    spans = chunk_spans(text, 30, 5)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(count_tokens(text[s:e]) <= 30 for s, e in spans)


def test_bad_sizes_raise_rag_error(articles: list[Article]) -> None:
    with pytest.raises(RagError):
        split_article(articles[0], 0, 0)
    with pytest.raises(RagError):
        split_article(articles[0], 32, 32)


def test_a_title_before_a_name_ends_no_sentence() -> None:
    text = ("The committee will investigate Rep. Alexandria Ocasio-Cortez. Sen. Raphael Warnock won. "
            "Gov. Greg Abbott spoke.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "The committee will investigate Rep. Alexandria Ocasio-Cortez.", "Sen. Raphael Warnock won.",
        "Gov. Greg Abbott spoke."]
