"""Cited question answering over news articles.

    from rag import Assistant
    answer = Assistant().ask("when did the army leave Hama?")
"""

from rag.assistant import Assistant
from rag.errors import RagError
from rag.models import Answer, Citation, Passage
from rag.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "Passage", "RagError", "Settings"]
