"""Retrieval: lexical and dense search, fusion, reranking."""
