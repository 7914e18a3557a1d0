"""Typo-tolerant questions: "wen did the armey leave Hamah?" -> "when did the army leave Hamah?".

Misspelled words are replaced by the closest word of the indexed articles' own vocabulary (plus question
words), so a correction can only move a question towards text that exists. Capitalised words other than
the first are left alone: they are names, and a corpus lexicon handles their variants.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from rag.text.normalize import fold
from rag.text.tokens import stem

QUESTION_WORDS = ("when what where which who whom whose why how many much did does was were is are has have "
                  "name the of and about").split()
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Folded words of the corpus, plus question words."""
    words = {fold(w).strip("'") for text in texts for w in _WORD.findall(text)}
    return frozenset(w for w in words if len(w) > 1) | frozenset(QUESTION_WORDS)


def correct_spelling(question: str, vocab: frozenset[str], cutoff: float = 0.85) -> str:
    """The question with unknown lower-case words replaced by their closest vocabulary word."""
    by_initial: dict[str, list[str]] = {}
    for word in vocab:
        by_initial.setdefault(word[0], []).append(word)

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        folded = fold(word).strip("'")
        if len(folded) < 3 or folded in vocab or (match.start() > 0 and word[0].isupper()):
            return word
        if folded.endswith("s") and folded[:-1] in vocab:  # "irans", "whats": a dropped apostrophe
            return word
        close = difflib.get_close_matches(folded, by_initial.get(folded[0], []), n=1, cutoff=cutoff)
        # "open" -> "opens" is no correction: the lexical side matches word forms anyway, and the user
        # would see a needlessly altered question.
        if not close or stem(close[0]) == stem(folded):
            return word
        return close[0]

    return _WORD.sub(fix, question)
