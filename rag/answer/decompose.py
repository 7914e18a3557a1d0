"""Split compound questions into the parts a quoting answerer can answer one by one.

"How far is Hama from Damascus, and how far were HTS fighters pushed back?" asks two things that two
different sentences (often two articles) answer; "Is Iran stepping up or limiting its help?" asks for
both sides. The parts are used for scoring sentences only and are never shown to the user.
"""

from __future__ import annotations

import re

_WH = r"(?:who|whom|whose|what|when|where|which|how|why)"
_SECOND_QUESTION = re.compile(rf",?\s+(?:and|or)\s+(?={_WH}\b)", re.I)
_LEAD = re.compile(r"^\s*(name|list|(?:who|what) (?:is|are|was|were)|which \w+(?: \w+)?)\s+(.+)$", re.I)
_AND = re.compile(r"\s+and\s+(?:that\s+)?", re.I)
_AND_THAT = re.compile(r"\s+and\s+that\s+", re.I)
_CHOICE = re.compile(r"^\s*(?:is|are|was|were|did|does|do|has|have|will|would)\b.*\S\s+or\s+\S", re.I)


def sub_questions(question: str) -> list[str]:
    """The question's parts; a single-part question comes back as itself."""
    parts = [p.strip(" ,") for p in _SECOND_QUESTION.split(question) if p.strip(" ,")]
    if len(parts) > 1:
        return parts
    if _CHOICE.match(question):
        return _alternatives(question)
    lead = _LEAD.match(question)
    if lead:
        # "Which band is dropping a single and will tour?" asks for one band with two traits; "which outlets
        # reported that A and that B?" asks for the reports of two parallel claims, as "Name X and Y" does.
        joiner = _AND_THAT if lead.group(1).lower().startswith("which") else _AND
        halves = joiner.split(lead.group(2))
        if len(halves) == 2 and all(len(re.findall(r"\w{4,}", h)) >= 2 for h in halves):
            return [f"{lead.group(1)} {halves[0]}", f"{lead.group(1)} {halves[1]}"]
    return [question]


def _alternatives(question: str) -> list[str]:
    # "Is Iran stepping up or limiting its help?" -> "... stepping up its help?" and "... limiting its help?"
    left, right = question.split(" or ", 1)
    right_words = right.split()
    first = question.replace(f" or {right_words[0]}", "", 1)
    second = left.rsplit(" ", 1)[0] + " " + right
    return [first, second]
