"""Cited question answering over news articles.

    from rag import Assistant
    answer = Assistant().ask("when did the army leave Hama?")

The public names are imported lazily, so `rag --help` and light imports of sub-modules do not pay for
llama-index, Chroma and onnxruntime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.errors import RagError
    from rag.models import Answer, Citation, Passage
    from rag.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "Passage", "RagError", "Settings"]

_HOMES = {"Assistant": "rag.assistant", "RagError": "rag.errors", "Answer": "rag.models",
          "Citation": "rag.models", "Passage": "rag.models", "Settings": "rag.settings"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
