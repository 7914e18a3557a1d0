"""Ingest: load and clean files, split into chunks, embed, store."""
