"""Text normalisation: one way to fold case, accents, quotes and dashes for every comparison of words."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "ı": "i",
    }
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d]")
_APOSTROPHES = re.compile(r"['’‘`ʼ]")


def strip_accents(text: str) -> str:
    """NFKD with combining marks dropped: "Türkiye" -> "Turkiye"."""
    if text.isascii():  # most news text: nothing to strip, and the per-character pass is a third of tokenising
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Casefold, strip accents, unify quotes and dashes, squash whitespace (answer matching, support checks)."""
    text = _DASHES.sub("-", strip_accents(text).translate(_QUOTES)).casefold()
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lowercase, strip accents and drop apostrophes, so "Türkiye" matches "turkiye" (lexical matching)."""
    return _APOSTROPHES.sub("", strip_accents(text).lower())
