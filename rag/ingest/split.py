"""Split an article into sentence-aligned chunks measured in tokens, with exact character spans.

We pack `rag.text.sentences` spans ourselves rather than use llama-index's SentenceSplitter because every
chunk must be a verbatim slice of the article (``article.text[start:end] == node.text``) for citations to
highlight the right characters, and SentenceSplitter rebuilds chunk text from pieces and locates it
afterwards. Tokens are counted with llama-index's tokenizer, which is tiktoken's cl100k_base loaded from
llama-index's bundled cache (no download).

Packing: sentences are added to a chunk while the chunk's own slice stays within `chunk_size` tokens; the
next chunk starts with the trailing sentences of the previous one that fit in `chunk_overlap` tokens. A
single sentence longer than `chunk_size` is cut at word boundaries (at any character only if one "word"
is itself too long).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.utils import get_tokenizer

from rag.errors import RagError
from rag.models import Article, Chunk
from rag.text.sentences import sentence_spans

Span = tuple[int, int]  # [start, end) character offsets into article.text

# Embeddings see the title with the chunk text; hashes, paths and counters would only add noise.
EMBED_EXCLUDED = ["doc_id", "source", "content_hash", "chunk", "url", "outlet", "published", "published_day"]
# The LLM sees title, outlet and date (useful for "when" questions), not file bookkeeping.
LLM_EXCLUDED = ["doc_id", "source", "content_hash", "chunk", "url", "published_day"]
# Keys the catalogue adds when it serves a chunk (`rag.ingest.catalog`): bookkeeping for both readers.
SERVED_EXCLUDED = ["source_key", "also_published", "dates"]
_MAX_CHARS_PER_TOKEN = 32
_CLOSING = "\"'”’)]»"


def count_tokens(text: str) -> int:
    """Tokens in `text` as the chunker counts them (tiktoken cl100k_base via llama-index)."""
    return len(get_tokenizer()(text))


def split_article(article: Article, chunk_size: int, chunk_overlap: int, limit: int | None = None) -> list[TextNode]:
    """Chunk `article` into TextNodes whose text is exactly ``article.text[start_char_idx:end_char_idx]``.

    With `limit`, stop after that many chunks (so a caller can refuse a huge article without paying for
    splitting all of it).
    """
    _check_sizes(chunk_size, chunk_overlap)
    spans = chunk_spans(article.text, chunk_size, chunk_overlap, limit)
    return [_node(article, i, start, end) for i, (start, end) in enumerate(spans)]


def min_chunks(text: str, chunk_size: int) -> int:
    """A cheap lower bound on the chunks of `text`: every word is at least one token, and a chunk holds
    at most `chunk_size` tokens."""
    return -(-len(text.split()) // chunk_size)


def split_articles(articles: Iterable[Article], chunk_size: int, chunk_overlap: int) -> list[TextNode]:
    """All chunks of all `articles`, in order."""
    return [node for article in articles for node in split_article(article, chunk_size, chunk_overlap)]


def chunk_spans(text: str, chunk_size: int, chunk_overlap: int, limit: int | None = None) -> list[Span]:
    """The ``[start, end)`` spans of the chunks of `text` (see the module docstring for the rules); with
    `limit`, only the first `limit` of them."""
    _check_sizes(chunk_size, chunk_overlap)
    count = get_tokenizer()

    def tokens(span: Span) -> int:
        return len(count(text[span[0]:span[1]]))

    sentences = (_with_closing_marks(text, span) for span in sentence_spans(text))
    # Units are counted and cut lazily, as packing reaches them: the work stops with the limit.
    pending = (piece for span in sentences for piece in _fit(text, span, chunk_size, tokens))
    units: list[Span] = []

    def has(index: int) -> bool:
        while len(units) <= index:
            piece = next(pending, None)
            if piece is None:
                return False
            units.append(piece)
        return True

    chunks: list[Span] = []
    first = 0  # index into units of the current chunk's first sentence
    while has(first) and (limit is None or len(chunks) < limit):
        last = first
        while has(last + 1) and tokens((units[first][0], units[last + 1][1])) <= chunk_size:
            last += 1
        chunks.append((units[first][0], units[last][1]))
        if not has(last + 1):
            break
        first = _overlap_start(units, first, last, chunk_size, chunk_overlap, tokens)
    return chunks


def _with_closing_marks(text: str, span: Span) -> Span:
    """Extend a sentence over the closing quotes/brackets after its full stop.

    `sentence_spans` ends a sentence at the "." of `coincidence."`, leaving the closing quote between two
    sentences; a chunk must not lose it.
    """
    start, end = span
    while end < len(text) and text[end] in _CLOSING:
        end += 1
    return start, end


def _overlap_start(units: list[Span], first: int, last: int, chunk_size: int, chunk_overlap: int,
                   tokens: Callable[[Span], int]) -> int:
    """Index of the first sentence of the next chunk: the tail of this one that fits the overlap."""
    start = last + 1
    # Always move forward, and leave room for the next sentence in the chunk that follows.
    while start - 1 > first:
        begin = units[start - 1][0]
        too_long = tokens((begin, units[last][1])) > chunk_overlap
        if too_long or tokens((begin, units[last + 1][1])) > chunk_size:
            break
        start -= 1
    return start


def _fit(text: str, span: Span, chunk_size: int, tokens: Callable[[Span], int]) -> Iterator[Span]:
    """`span` itself when it fits `chunk_size`, else consecutive pieces of it that each fit (lazily)."""
    # A span longer than any budget is not counted whole: tokenising megabytes of one "sentence" is slow.
    if span[1] - span[0] <= chunk_size * _MAX_CHARS_PER_TOKEN and tokens(span) <= chunk_size:
        yield span
        return
    start, end = span
    while start < end:
        cut = _longest_fitting_end(text, start, end, chunk_size, tokens)
        piece = _trim(text, start, cut)
        if piece[1] > piece[0]:
            yield piece
        start = cut
        while start < end and text[start].isspace():
            start += 1


def _longest_fitting_end(text: str, start: int, end: int, chunk_size: int,
                         tokens: Callable[[Span], int]) -> int:
    """The furthest word boundary (else character) after `start` with text[start:cut] in budget."""
    # No budget of chunk_size tokens spans more characters than this; capping keeps huge lines linear.
    end = min(end, start + chunk_size * _MAX_CHARS_PER_TOKEN)
    boundaries = [i for i in range(start + 1, end) if text[i].isspace() and not text[i - 1].isspace()] + [end]
    best = _bisect_last(boundaries, lambda cut: tokens((start, cut)) <= chunk_size)
    if best is not None:
        return best
    # One "word" longer than the budget (a URL, a run of symbols): cut by characters.
    cut = _bisect_last(list(range(start + 1, end + 1)), lambda c: tokens((start, c)) <= chunk_size)
    return cut if cut is not None else start + 1


def _bisect_last(candidates: list[int], fits: Callable[[int], bool]) -> int | None:
    """The last candidate for which `fits` holds, assuming it holds for a prefix of them."""
    low, high, found = 0, len(candidates) - 1, None
    while low <= high:
        mid = (low + high) // 2
        if fits(candidates[mid]):
            found, low = candidates[mid], mid + 1
        else:
            high = mid - 1
    return found


def _trim(text: str, start: int, end: int) -> Span:
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _node(article: Article, index: int, start: int, end: int) -> TextNode:
    return TextNode(
        id_=f"{article.doc_id}::{index}",
        text=article.text[start:end],
        start_char_idx=start,
        end_char_idx=end,
        metadata=article.metadata() | {"chunk": index},
        excluded_embed_metadata_keys=list(EMBED_EXCLUDED),
        excluded_llm_metadata_keys=list(LLM_EXCLUDED),
        # ref_doc_id lets llama-index stores delete an article's chunks by its doc_id.
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article.doc_id)},
    )


def to_text_node(chunk: Chunk) -> TextNode:
    """A served chunk as the llama-index TextNode it was split as (same id, span, metadata exclusions),
    for llama-index code and for benchmarks that embed exactly what ingest embedded."""
    return TextNode(
        id_=chunk.node_id,
        text=chunk.text,
        start_char_idx=chunk.start_char_idx,
        end_char_idx=chunk.end_char_idx,
        metadata=dict(chunk.metadata),
        excluded_embed_metadata_keys=[*EMBED_EXCLUDED, *SERVED_EXCLUDED],
        excluded_llm_metadata_keys=[*LLM_EXCLUDED, "source_key", "also_published"],
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=str(chunk.metadata.get("doc_id")))},
    )


def _check_sizes(chunk_size: int, chunk_overlap: int) -> None:
    if chunk_size < 1:
        raise RagError(f"chunk size must be at least 1 token, not {chunk_size}.")
    if not 0 <= chunk_overlap < chunk_size:
        raise RagError(f"chunk overlap must be between 0 and the chunk size - 1, not {chunk_overlap}.")
