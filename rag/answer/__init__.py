"""Answering: the extractive and LLM answerers, citations, condensing follow-ups."""
