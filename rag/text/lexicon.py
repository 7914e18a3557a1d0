"""An optional per-corpus lexicon: spellings of one name, and words that say the same thing.

A corpus folder may hold a ``lexicon.json`` beside its articles (the seeds' own is ``seeds/lexicon.json``)::

    {"names": [["Hama", "Hamah"], ["Hayat Tahrir al-Sham", "HTS"]],
     "words": [["leave", "left", "withdraw", "withdrew"]]}

`rag ingest` keeps the lexicon of every folder it ingests beside the index (`RAG_LEXICON_PATH` names one
explicitly). Names expand queries for the dense side; names and words become one token per group on the
lexical side. Without a lexicon nothing is expanded: the embedding model handles paraphrase.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.errors import RagError
from rag.text.normalize import fold

LEXICON_FILE = "lexicon.json"
# Group tokens look like "lexn3q" (names) and "lexw3q" (words); only this module knows the format.
_GROUP_TOKEN = re.compile(r"lex[nw]\d+q")


@dataclass(frozen=True)
class Lexicon:
    """Groups of equivalent names (the first of each is canonical), and groups of equivalent words."""

    names: tuple[tuple[str, ...], ...] = ()
    words: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a lexicon file; a broken file is an error the user can fix, not a silent no-op."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names = tuple(tuple(str(name) for name in group) for group in data.get("names", []))
            words = tuple(tuple(str(word) for word in group) for group in data.get("words", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RagError(f"Could not read the lexicon {path}: {exc}. Fix it, remove it, or set "
                           "RAG_LEXICON_PATH to another file.") from exc
        return cls(names, words)

    def merged(self, other: Lexicon) -> Lexicon:
        """Both lexicons' groups, without repeats (several ingested folders, one index)."""
        return Lexicon(tuple(dict.fromkeys(self.names + other.names)),
                       tuple(dict.fromkeys(self.words + other.words)))

    def save(self, path: Path) -> None:
        """Write the lexicon as JSON (the index's own copy)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"names": [list(g) for g in self.names], "words": [list(g) for g in self.words]}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @property
    def digest(self) -> str:
        """Changes whenever a group changes (the BM25 index depends on it)."""
        return hashlib.sha256(repr((self.names, self.words)).encode()).hexdigest()[:16]

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table = {fold(v): f" lexn{i}q " for i, g in enumerate(self.names) for v in g}
        table.update({fold(w): f" lexw{i}q " for i, g in enumerate(self.words) for w in g})
        return table

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self._lookup:
            return None
        variants = sorted(self._lookup, key=len, reverse=True)
        return re.compile(r"(?<![\w-])(" + "|".join(re.escape(v) for v in variants) + r")(?![\w-])")

    def canonical_tokens(self, text: str) -> str:
        """Folded text with every known variant replaced by one token per group (for the lexical side)."""
        folded = fold(text)
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda m: self._lookup[m.group(1)], folded)

    @staticmethod
    def is_group_token(token: str) -> bool:
        """True for a token that stands for a whole group (it must not be stemmed)."""
        return _GROUP_TOKEN.fullmatch(token) is not None

    def expand(self, query: str) -> str:
        """The query plus the other spellings of every name it mentions (for the dense side)."""
        folded = fold(query)
        extra: list[str] = []
        for group in self.names:
            if any(_mentions(folded, name) for name in group):
                extra.extend(v for v in group[:3] if not _mentions(folded, v))
        return query if not extra else f"{query} ({', '.join(extra)})"


def _mentions(folded_text: str, name: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(fold(name)) + r"(?![\w-])", folded_text) is not None


def corpus_lexicon(override: Path | None, kept: Path) -> Lexicon:
    """The lexicon in force: the file a user named (RAG_LEXICON_PATH), else the index's own copy of its
    folders' lexicon.json files (`kept`), else an empty one."""
    if override is not None:
        return Lexicon.load(override)
    return Lexicon.load(kept) if kept.is_file() else Lexicon()
