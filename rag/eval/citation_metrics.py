"""ALCE sentence-level citation metrics (Gao et al. 2023, "Enabling LLMs to generate text with citations").

An answer is split into sentences with their `[n]` markers; a `SupportJudge` (rag.eval.judge) decides whether
the cited passages support each sentence. Citation recall = share of supported sentences; citation
precision = share of counted citations that are needed (see `check_citations`).

Data shapes:
    answer_text  "The army left Hama on 5 December [1]. HTS led the offensive [1, 2]."
    passages     texts numbered [1]..[n] in the order the generator saw them: passage [n] is passages[n - 1]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.eval.judge import SupportJudge
from rag.text.markers import GROUP, RUN, markers_in
from rag.text.sentences import sentence_spans


@dataclass
class SentenceVerdict:
    """One answer sentence: its text without markers, the passages it cites and the judge's verdicts."""

    text: str
    markers: list[int]
    supported: bool = False
    precise: list[bool] = field(default_factory=list)  # per marker; empty when its citations don't count


def cited_sentences(answer_text: str) -> list[SentenceVerdict]:
    """Split an answer into sentences (rag.text.sentences) with their `[n]`/`[n, m]`/`[n-m]` markers removed
    from the text. Markers that open a sentence ("... Hama. [1] The army ...") and marker-only fragments
    belong to the sentence before; repeated markers in one sentence count once."""
    out: list[SentenceVerdict] = []
    for start, end in sentence_spans(answer_text):
        raw = answer_text[start:end]
        lead = RUN.match(raw)
        if lead and out:
            _add_markers(out[-1], lead.group(0))
            raw = raw[lead.end() :]
        text = " ".join(GROUP.sub(" ", raw).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if not re.search(r"\w", text):
            if out:
                _add_markers(out[-1], raw)
            continue
        sentence = SentenceVerdict(text, [])
        _add_markers(sentence, raw)
        out.append(sentence)
    return out


def _add_markers(sentence: SentenceVerdict, raw: str) -> None:
    sentence.markers.extend(n for n in markers_in(raw) if n not in sentence.markers)


def check_citations(answer_text: str, passages: Sequence[str], judge: SupportJudge) -> list[SentenceVerdict]:
    """Judge every answer sentence against the passages it cites, as ALCE's `compute_autoais` does
    (Gao et al. 2023, "Enabling LLMs to generate text with citations", §2.2, eval.py):

    - supported: the sentence has citations, all in range 1..len(passages), and the concatenation of the
      cited passages entails it. No citations, or one out of range: unsupported, and its citations are
      not counted for precision.
    - precise, per citation of a supported sentence with several citations: a citation is imprecise iff
      (a) it alone does not entail the sentence and (b) the remaining cited passages still do; otherwise
      precise. A supported sentence with one citation: that citation is precise. An unsupported sentence
      with in-range citations: all its citations are imprecise (they count, and score 0).
    """
    verdicts = cited_sentences(answer_text)
    for v in verdicts:
        if not v.markers or any(not 1 <= m <= len(passages) for m in v.markers):
            continue
        v.supported = judge.supports(v.text, _join(passages, v.markers))
        if not v.supported:
            v.precise = [False] * len(v.markers)
        elif len(v.markers) == 1:
            v.precise = [True]
        else:
            for m in v.markers:
                alone = judge.supports(v.text, _join(passages, [m]))
                rest = [x for x in v.markers if x != m]
                v.precise.append(alone or not judge.supports(v.text, _join(passages, rest)))
    return verdicts


def _join(passages: Sequence[str], markers: Sequence[int]) -> str:
    return "\n".join(passages[m - 1] for m in markers)


def citation_recall(verdicts: Sequence[SentenceVerdict]) -> float:
    """ALCE citation recall: the share of answer sentences supported by (the concatenation of) the
    passages they cite; sentences without citations count as unsupported."""
    if not verdicts:
        raise ValueError("citation recall needs at least one answer sentence")
    return sum(v.supported for v in verdicts) / len(verdicts)


def citation_precision(verdicts: Sequence[SentenceVerdict]) -> float:
    """ALCE citation precision: precise citations / counted citations over the whole answer (see
    `check_citations` for which citations are precise and which count); 0 when none count."""
    if not verdicts:
        raise ValueError("citation precision needs at least one answer sentence")
    counted = [p for v in verdicts for p in v.precise]
    return sum(counted) / len(counted) if counted else 0.0
