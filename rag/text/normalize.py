"""Text normalisation shared by answer matching (rag.eval.metrics) and the support check (rag.eval.judge)."""

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


def normalize(text: str) -> str:
    """Casefold, strip accents (NFKD, combining marks dropped), unify quotes and dashes, squash whitespace."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DASHES.sub("-", text.translate(_QUOTES)).casefold()
    return " ".join(text.split())
