"""Sentence boundaries with character spans, shared by the extractive answerer and the citation checker."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) then whitespace and an
# uppercase letter, digit or opening quote; or at a line break. Abbreviations common in news copy
# ("U.S.", "Gen.", "Mr.") must not end a sentence.
_END = re.compile(r"""(?:(?<=[.!?])(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9]))|\n+""")
# Titles written before a name ("Rep. Alexandria Ocasio-Cortez", "Sen. Raphael Warnock") never end one.
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|Capt|St|Jr|Sr|Prof|No|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|"
                     r"Aug|Sep|Sept|Oct|Nov|Dec|Rep|Reps|Sen|Sens|Gov|Govs|Rev|Adm|Maj|Cmdr|Cpl|Pvt|Supt|Atty|"
                     r"Hon|Msgr)|\b[A-Z](?:\.[A-Z])*)\.$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return ``[start, end)`` spans of the sentences in `text`, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end(1) if match.group(1) is not None else match.start()  # closing quotes stay in
        if "\n" not in match.group(0) and _ABBREV.search(text[start:match.start()]):
            continue
        _append(text, start, end, spans)
        start = match.end()
    _append(text, start, len(text), spans)
    return spans


def _append(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
