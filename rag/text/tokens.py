"""Words as the lexical side sees them: folded, lexicon-normalised, stop words dropped, lightly stemmed.

BM25, the sentence scorer, the date-clause picker and the eval's support judge all match words with this
one stop list and this one stemmer, so "cities" in a question meets "city" in an article everywhere.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rag.text.normalize import fold

if TYPE_CHECKING:
    from rag.text.lexicon import Lexicon

# Function words carry no evidence; dropping them keeps BM25 from rewarding "the"/"did".
STOPWORDS = frozenset("""a an and are as at be been being by did do does doing for from had has have having he
her hers him his how i if in into is it its itself me my of on or our she so than that the their them then
there these they this those to was we were what when where which while who whom whose why will with would
you your after before about over also said says say again against all am any both but can could each few
further here just nor once other own same should some such too very""".split())

_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """Strip one common English suffix ("cities" -> "city", "forces"/"force" -> "forc").

    Crude, but the same on both sides of every match; "Damascus", "class" and "analysis" keep their s.
    """
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        if len(word) >= len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)] + repl
            break
    # "force"/"forces"/"forced" and "capture"/"captured" meet once a final e goes too.
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def content_words(text: str) -> list[str]:
    """Folded words of `text` without stop words, unstemmed."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


def lexical_tokens(text: str, lexicon: Lexicon) -> list[str]:
    """Folded, lexicon-normalised, stemmed content words (what BM25 indexes and the scorer compares)."""
    return [w if lexicon.is_group_token(w) else stem(w)
            for w in _WORD.findall(lexicon.canonical_tokens(text)) if w not in STOPWORDS]
