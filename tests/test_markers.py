"""The one `[n]` marker parser (rag.text.markers), and the three readers that use it agree on every form."""

from __future__ import annotations

import pytest

from rag.answer.citations import parse_markers
from rag.eval.citation_metrics import cited_sentences
from rag.text.markers import MAX_RANGE, expand, marker_groups, markers_in, strip_markers
from rag.ui import link_markers

FORMS = [
    ("[1]", [1]),
    ("[1, 3]", [1, 3]),
    ("[1,3]", [1, 3]),
    ("[1][2]", [1, 2]),
    ("[1] [2]", [1, 2]),
    ("[1-2]", [1, 2]),
    ("[1–3]", [1, 2, 3]),  # en dash
    ("[1 — 3]", [1, 2, 3]),  # em dash with spaces
    ("[2-3, 5]", [2, 3, 5]),
    ("[3, 1][1]", [3, 1]),  # first use order, duplicates once
]


@pytest.mark.parametrize(("marker", "numbers"), FORMS)
def test_every_form_reads_the_same_numbers(marker: str, numbers: list[int]) -> None:
    text = f"The army left Hama on December 5 {marker}."
    assert markers_in(text) == numbers
    assert strip_markers(text) == "The army left Hama on December 5."


@pytest.mark.parametrize(("marker", "numbers"), FORMS)
def test_citations_ui_and_eval_agree(marker: str, numbers: list[int]) -> None:
    text = f"The army left Hama on December 5 {marker}."
    assert parse_markers(text, 5)[1] == numbers
    assert cited_sentences(text)[0].markers == numbers
    links = [f'href="#src-0-{n}"' for n in numbers]
    html = link_markers(text, 0)
    assert all(link in html for link in links) and html.count("rag-cite") == sum(
        len(g.numbers) for g in marker_groups(text)
    )


def test_groups_carry_their_spans() -> None:
    text = "A [1-2]. B [4]"
    groups = list(marker_groups(text))
    assert [(text[g.start : g.end], g.numbers) for g in groups] == [("[1-2]", (1, 2)), ("[4]", (4,))]


def test_ranges_that_are_not_ranges() -> None:
    assert expand("3-1") == [3, 1]  # reversed: its two ends, nothing invented between them
    assert expand(f"1-{MAX_RANGE + 2}") == [1, MAX_RANGE + 2]  # hostile width: never materialised
    assert expand(f"1-{MAX_RANGE + 1}") == list(range(1, MAX_RANGE + 2))


@pytest.mark.parametrize("text", ["In [2024] the war", "see [a]", "[ 1 ]", "[1.5]", "[-1]", "[]"])
def test_brackets_that_are_not_markers(text: str) -> None:
    # A year in brackets is still a number in brackets: it reads as passage 2024, which no answer has,
    # so the citation parser drops it (below); the others are not markers at all.
    if text.startswith("In"):
        assert markers_in(text) == [2024] and parse_markers(text, 5) == ("In the war", [])
    else:
        assert markers_in(text) == [] and strip_markers(text) == text


def test_eval_reads_ranges_it_used_to_miss() -> None:
    # Before the shared parser, the eval's own regex read "[1-2]" as no marker: an uncited sentence.
    [sentence] = cited_sentences("Hama is 200 km from Damascus [1-2].")
    assert sentence.markers == [1, 2] and sentence.text == "Hama is 200 km from Damascus."
