"""The `rag eval --min-*` gates: which summary figure each one reads. Kept apart from the runner so that
building the CLI's parser (`rag --help`) imports none of the eval machinery."""

from __future__ import annotations

from typing import Any

THRESHOLDS = {  # CLI option -> (summary path, description)
    "min_answer": (("overall", "correct"), "answer accuracy"),
    "min_citation": (("overall", "citation_recall"), "citation recall (ALCE)"),
    "min_citation_precision": (("overall", "citation_precision"), "citation precision (ALCE)"),
    "min_answer_recall": (("overall", "answer_recall_at_3"), "answer recall@3"),
    "min_refusal": (("refusal", "unanswerable_refused"), "share of unanswerable questions refused"),
}


def missed_thresholds(summary: dict[str, Any], wanted: dict[str, float | None]) -> list[str]:
    """Human-readable lines for every `--min-*` threshold the run did not reach."""
    missed = []
    for option, minimum in wanted.items():
        if minimum is None:
            continue
        (section, key), label = THRESHOLDS[option]
        value = summary[section].get(key)
        if value is None or value < minimum:
            shown = "n/a" if value is None else f"{value:.3f}"
            missed.append(f"{label} is {shown}, below --{option.replace('_', '-')} {minimum}")
    return missed
