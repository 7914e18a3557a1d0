"""Typo-tolerant questions: "wen did the armey leave Hamah?" -> "when did the army leave Hamah?".

Misspelled words are replaced by the closest word of the indexed articles' own vocabulary (plus question
words), so a correction can only move a question towards text that exists. Capitalised words other than
the first are left alone: they are names, and a corpus lexicon handles their variants.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
from collections.abc import Callable
from typing import Protocol

from rag.retrieve import lexical
from rag.text.normalize import fold
from rag.text.tokens import STOPWORDS, stem

QUESTION_WORDS = frozenset("when what where which who whom whose why how many much did does was were is are has have "
                           "name the of and about".split())
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")
CUTOFF = 0.85


class Vocabulary(Protocol):
    """Known words, and the ones a misspelling could be a typo of."""

    def __contains__(self, word: object) -> bool: ...

    def candidates(self, word: str) -> list[str]: ...


class IndexVocabulary:
    """The words of the indexed chunks, read from the lexical index's FTS5 vocabulary table.

    Each check is an index probe: nothing is loaded at start, and nothing per question grows with the
    number of chunks.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.connect = connect

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and (word in QUESTION_WORDS or lexical.known_word(self.connect(), word))

    def candidates(self, word: str) -> list[str]:
        """Words that could reach the similarity cutoff: same initial, close enough in length.

        difflib's ratio is at most 2*min/(len1+len2), so a length gap above 0.36 x the word's length can
        never reach 0.85: those words are not fetched.
        """
        spread = max(1, int(len(word) * (1 - CUTOFF) / CUTOFF * 2) + 1)
        close = [w for w in QUESTION_WORDS if w[0] == word[0]]
        return close + lexical.words_like(self.connect(), word, spread)


def correct_spelling(question: str, vocab: Vocabulary, cutoff: float = CUTOFF) -> str:
    """The question with unknown lower-case words replaced by their closest vocabulary word."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        folded = fold(word).strip("'")
        # Stop words are known words, though the lexical index does not keep them: "they" is no typo of "the".
        if (len(folded) < 3 or folded in STOPWORDS or folded in vocab
                or (match.start() > 0 and word[0].isupper())):
            return word
        if folded.endswith("s") and folded[:-1] in vocab:  # "irans", "whats": a dropped apostrophe
            return word
        close = difflib.get_close_matches(folded, vocab.candidates(folded), n=1, cutoff=cutoff)
        # "open" -> "opens" is no correction: the lexical side matches word forms anyway, and the user
        # would see a needlessly altered question.
        if not close or stem(close[0]) == stem(folded):
            return word
        return close[0]

    return _WORD.sub(fix, question)
