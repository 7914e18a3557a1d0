"""Name variants and transliterations ("Hamah" = "Hama", "HTS" = "Hayat Tahrir al-Sham").

The table is data (``rag/data/aliases.json``); this module turns it into query expansions for the dense
side and into one canonical token per name for the lexical (BM25) side.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.errors import RagError


def fold(text: str) -> str:
    """Lowercase and strip accents and apostrophes, so "Türkiye" matches "turkiye"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"['’‘`ʼ]", "", text.lower())


@dataclass(frozen=True)
class Aliases:
    """Groups of equivalent names (the first of each is canonical), and groups of equivalent words."""

    groups: tuple[tuple[str, ...], ...]
    words: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def load(cls, path: Path) -> Aliases:
        """Read the alias table; a broken file is an error the user can fix, not a silent no-op."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            groups = tuple(tuple(str(name) for name in group) for group in data["groups"])
            words = tuple(tuple(str(word) for word in group) for group in data.get("words", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RagError(f"Could not read the alias table {path}: {exc}. Fix it or set RAG_ALIASES_PATH.") from exc
        return cls(groups, words)

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table = {fold(v): f" alias{i} " for i, g in enumerate(self.groups) for v in g}
        table.update({fold(w): f" word{i} " for i, g in enumerate(self.words) for w in g})
        return table

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        variants = sorted(self._lookup, key=len, reverse=True)
        return re.compile(r"(?<![\w-])(" + "|".join(re.escape(v) for v in variants) + r")(?![\w-])")

    def canonical_tokens(self, text: str) -> str:
        """Folded text with every known variant replaced by one token per group (for the lexical side)."""
        return self._pattern.sub(lambda m: self._lookup[m.group(1)], fold(text))

    def expand(self, query: str) -> str:
        """The query plus the other spellings of every name it mentions (for the dense side)."""
        folded = fold(query)
        extra: list[str] = []
        for group in self.groups:
            if any(_mentions(folded, name) for name in group):
                extra.extend(v for v in group[:3] if not _mentions(folded, v))
        return query if not extra else f"{query} ({', '.join(extra)})"


def _mentions(folded_text: str, name: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(fold(name)) + r"(?![\w-])", folded_text) is not None
