"""Syndicated copies: the same story published by several sites, found with MinHash LSH (datasketch).

Each article gets a MinHash signature of its word 5-shingles. An article whose estimated Jaccard
similarity with an earlier one reaches `THRESHOLD` joins that article's story group; otherwise it starts
its own. Chunks of every copy are still stored (a copy may carry a paragraph the others lack; identical
chunk texts are stored once anyway), but retrieval, citations and disagreement detection treat the group as
one source that "also appeared in" the others.

The LSH index is rebuilt from the stored signatures once per ingest run that embeds something: ingest
already walks the folder, and the index is a few bytes per article. Questions never touch it.
"""

from __future__ import annotations

import re

import numpy as np
from datasketch import MinHash, MinHashLSH

from rag.ingest.catalog import Catalog

NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default permutation scheme, named so stored signatures stay readable
SHINGLE_WORDS = 5
# Syndicated copies differ by a dateline, a byline or a trimmed last paragraph: their 5-shingle Jaccard
# stays high (0.8-1.0 on RealTimeQA copies of one wire story); two outlets' own reports of the same event
# share names and numbers but few 5-word runs, and score far below this.
THRESHOLD = 0.7


def signature(text: str) -> MinHash:
    """MinHash of the text's lower-cased word 5-shingles (the words themselves for very short texts)."""
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    sig = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    sig.update_batch([s.encode() for s in shingles if s])
    return sig


def to_bytes(sig: MinHash) -> bytes:
    """The signature as stored in the catalogue."""
    return np.asarray(sig.hashvalues).tobytes()


def from_bytes(blob: bytes) -> MinHash:
    """A stored signature back as a MinHash."""
    dtype = MinHash(num_perm=1, scheme=SCHEME).hashvalues.dtype
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(blob, dtype=dtype), scheme=SCHEME)


class StoryGroups:
    """Which story group a new article belongs to, over every article already stored."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self.signatures: dict[str, MinHash] = {}
        self.groups: dict[str, int] = {}

    @classmethod
    def load(cls, catalog: Catalog) -> StoryGroups:
        """The groups of every stored article."""
        groups = cls()
        for key, group, blob in catalog.signatures():
            groups.add(key, group, from_bytes(blob))
        return groups

    def group_of(self, key: str, sig: MinHash) -> int | None:
        """The group of the most similar stored article at or above the threshold (not `key` itself)."""
        best: tuple[float, int] | None = None
        for other in self.lsh.query(sig):
            if other == key:
                continue
            # LSH finds candidates; the estimated Jaccard decides, so a banding accident joins nothing.
            similarity = sig.jaccard(self.signatures[other])
            if similarity >= THRESHOLD and (best is None or similarity > best[0]):
                best = (similarity, self.groups[other])
        return best[1] if best else None

    def add(self, key: str, group: int, sig: MinHash) -> None:
        """Remember an article (replacing an earlier version of it)."""
        self.remove(key)
        self.lsh.insert(key, sig)
        self.signatures[key] = sig
        self.groups[key] = group

    def remove(self, key: str) -> None:
        """Forget an article."""
        if key in self.signatures:
            self.lsh.remove(key)
            del self.signatures[key]
            del self.groups[key]
