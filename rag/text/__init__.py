"""Shared text helpers, one copy each: normalisation, sentences, dates, tokens and the lexicon."""
