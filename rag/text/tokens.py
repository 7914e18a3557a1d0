"""Words as the lexical side sees them: folded, alias-normalised, stop words dropped, lightly stemmed.

BM25, the extractive scorer and the date-clause picker all match words this way, so "Hamah" in a question
meets "Hama" in an article and "withdrawal" meets "leave".
"""

from __future__ import annotations

import re

from rag.text.lexicon import Aliases

# Short function words carry no evidence; dropping them keeps BM25 from rewarding "the"/"did".
STOPWORDS = frozenset("""a an and are as at be been by did do does for from had has have he her his how i in
into is it its of on or she that the their them they this to was were what when where which who whom
whose why will with would after before about over than then there these those said says also""".split())


def lexical_tokens(text: str, aliases: Aliases) -> list[str]:
    """Folded, alias-normalised, lightly stemmed content words."""
    words = re.findall(r"[a-z0-9]+", aliases.canonical_tokens(text))
    return [_stem(w) for w in words if w not in STOPWORDS]


def stem(word: str) -> str:
    """Strip a common English suffix (crude, but consistent on both sides of every match)."""
    return _stem(word)


def _stem(word: str) -> str:
    # A crude suffix stripper is enough to match "withdrew/withdrawal"-free cases like "cities/city".
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word
