"""Citation markers: the one parser of ``[n]`` in answer text, shared by citations, the UI and the eval.

A marker group is one bracket of passage numbers separated by commas or dashes; adjacent groups form a
run. All of these cite passages 1, 2 and 3::

    [1, 2, 3]   [1,2,3]   [1-3]   [1–3]   [1][2][3]   [1-2, 3]

Data shapes:
    MarkerGroup   one bracket: its span in the text and its numbers in written order, ranges expanded
    markers_in()  distinct numbers of a whole text, in order of first use
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Hyphen, en dash, em dash and the minus sign: models write ranges with any of them.
_DASH = "-–—−"
_NUMBERS = rf"\d+(?:\s*[{_DASH},]\s*\d+)*"
GROUP = re.compile(rf"\[({_NUMBERS})\]")
# A run of groups with the whitespace before it: " [1][2]", " [1] [3]" (group 1 is the leading whitespace).
RUN = re.compile(rf"(\s*)\[{_NUMBERS}\](?:\s*\[{_NUMBERS}\])*")
# A range wider than this is not a citation a reader could follow (nor one we should materialise:
# "[1-999999999]"); only its two ends are read.
MAX_RANGE = 100


@dataclass(frozen=True)
class MarkerGroup:
    """One bracket group in a text: ``text[start:end]`` is e.g. ``"[1-2]"``."""

    start: int
    end: int
    numbers: tuple[int, ...]  # in written order, ranges expanded, duplicates dropped


def expand(group: str) -> list[int]:
    """The numbers of a bracket's inside: ``"1, 3-4"`` -> ``[1, 3, 4]`` (order kept, duplicates dropped).

    A reversed range (``"3-1"``) or one wider than `MAX_RANGE` gives its two ends only.
    """
    out: list[int] = []
    for part in group.split(","):
        bounds = [int(b) for b in re.split(rf"\s*[{_DASH}]\s*", part.strip()) if b]
        lo, hi = bounds[0], bounds[-1]
        numbers = range(lo, hi + 1) if 0 <= hi - lo <= MAX_RANGE else bounds
        out.extend(n for n in numbers if n not in out)
    return out


def marker_groups(text: str) -> Iterator[MarkerGroup]:
    """Every bracket group of `text`, left to right."""
    for match in GROUP.finditer(text):
        yield MarkerGroup(match.start(), match.end(), tuple(expand(match.group(1))))


def markers_in(text: str) -> list[int]:
    """The distinct passage numbers cited in `text`, in order of first use."""
    out: list[int] = []
    for group in marker_groups(text):
        out.extend(n for n in group.numbers if n not in out)
    return out


def strip_markers(text: str) -> str:
    """`text` without any markers (and the space before them), for comparing claims with sources."""
    return re.sub(r"\s{2,}", " ", RUN.sub("", text)).strip()
