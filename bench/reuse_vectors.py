"""Carry the vectors of an existing index into a new data dir, so a re-index after a code change that
does not touch the embedded text (catalogue layout, lexical tokens, answerer) skips the embedder.

MiniLM is deterministic, so a vector copied here is the one the embedder would compute again for the
same chunk text; the new ingest finds it by chunk id (a hash of the text) and embeds only what is new.
On 2 shared cores embedding the RealTimeQA dev split takes over an hour; this takes a minute. Timings of
ingest are never taken from an index built this way (bench/realtimeqa.py measures ingest speed on its own
sample).

    python -m bench.reuse_vectors OLD_DATA_DIR NEW_DATA_DIR
    RAG_DATA_DIR=NEW_DATA_DIR python -m rag ingest ARTICLES
"""

from __future__ import annotations

import argparse
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from rag.ingest.embed import embedder_name
from rag.ingest.pipeline import chunk_id
from rag.ingest.store import open_store
from rag.settings import Settings

PAGE = 2000


def reuse(old_data_dir: Path, new_data_dir: Path, collection: str = "articles") -> int:
    """Copy (chunk text -> vector) pairs from the old index's Chroma collection; returns how many."""
    old = chromadb.PersistentClient(path=str(old_data_dir / "index"),
                                    settings=ChromaSettings(anonymized_telemetry=False))
    source = old.get_collection(collection)
    settings = Settings.from_env().with_(data_dir=new_data_dir)
    store = open_store(settings, embedder_name(settings))
    if (source.metadata or {}).get("embed_model") != embedder_name(settings):
        raise SystemExit("The old index was built with another embedding model; its vectors cannot be reused.")
    copied = 0
    total = source.count()
    for offset in range(0, total, PAGE):
        got = source.get(include=["documents", "embeddings"], limit=PAGE, offset=offset)
        pairs = {chunk_id(doc): list(map(float, vec))
                 for doc, vec in zip(got["documents"] or [], got["embeddings"], strict=True) if doc}
        store.add_vectors(list(pairs), list(pairs.values()))
        copied += len(pairs)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="RAG_DATA_DIR of the index whose vectors to reuse")
    parser.add_argument("new", type=Path, help="RAG_DATA_DIR of the index to seed")
    args = parser.parse_args(argv)
    print(f"{reuse(args.old, args.new)} vectors copied into {args.new}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
