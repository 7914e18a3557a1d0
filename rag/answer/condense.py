"""Rewrite a follow-up question as a standalone one, so retrieval sees "when did the army leave Hama?"
rather than "and when did it leave?".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import openai

from rag.answer.llm import complete, make_client
from rag.prompts import render_prompt
from rag.settings import Settings
from rag.text.markers import strip_markers

# Only the recent turns matter for resolving "it"/"they", and long answers would crowd the prompt.
HISTORY_TURNS = 3
ANSWER_CHARS = 400
CONDENSE_MAX_TOKENS = 64

Turn = tuple[str, str]  # (user question, assistant answer)


def condense_question(
    question: str, history: Sequence[Turn], settings: Settings | None, client: openai.OpenAI | None = None
) -> str:
    """The standalone form of `question` given the earlier turns, written by the LLM.

    With no history there is nothing to resolve, so the question comes back unchanged without a call.
    With no settings (offline, extractive mode) the rule-based `rewrite_followup` does it instead.
    """
    if not history:
        return question
    if settings is None:
        return rewrite_followup(question, history)
    prompt = render_prompt(
        settings.prompts_dir, "condense", history=format_history(history), question=question
    )
    messages = [{"role": "user", "content": prompt}]
    reply, _ = complete(client or make_client(settings), settings, messages, CONDENSE_MAX_TOKENS)
    return _first_line(reply) or question


def format_history(history: Sequence[Turn]) -> str:
    """The last few turns as ``User: ...`` / ``Assistant: ...`` lines, answers without their markers."""
    lines: list[str] = []
    for user, assistant in history[-HISTORY_TURNS:]:
        lines.append(f"User: {' '.join(user.split())}")
        lines.append(f"Assistant: {_clip(strip_markers(assistant))}")
    return "\n".join(lines)


def _first_line(reply: str) -> str:
    # Small models run on past the question; the first non-empty line is the rewrite.
    for line in reply.splitlines():
        line = line.strip().strip("\"'“”").strip()
        if line:
            return line
    return ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1] + "…"


# --- offline: a rule-based rewrite for follow-ups -------------------------------------------------------
#
# Without an LLM, a follow-up is made standalone by carrying over the names (people, places, groups) of
# the previous question: "and who led the offensive?" after "when did the army leave Hama?" becomes
# "who led the offensive (Hama)?", and "what about Aleppo?" becomes "when did the army leave Aleppo?".

# A run of capitalised words, allowing Arabic-style particles inside a name ("Bashar al-Assad",
# "Hayat Tahrir al-Sham") and "of" between capitals ("Ministry of Defence").
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:al|el|bin|ibn|de|of)[- ])?[A-Z][\w'’-]*|-[A-Z][\w'’-]*)*")
# Capitalised only because they start the sentence, or not names at all.
_NOT_NAMES = frozenset({
    "what", "when", "where", "who", "whom", "whose", "which", "why", "how", "did", "does", "do", "is", "are",
    "was", "were", "has", "have", "had", "can", "could", "will", "would", "should", "the", "a", "an", "and",
    "but", "so", "also", "in", "on", "at", "of", "for", "to", "i", "it", "they", "he", "she", "tell", "give",
    "list", "name", "show", "explain", "describe", "please", "then", "there", "that", "this", "and what",
})
_LEAD = re.compile(r"^\s*(?:and|also|so|but|then)\b[\s,]*", re.IGNORECASE)
_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?P<rest>.+?)\s*\??\s*$", re.IGNORECASE)
_PLACE_REF = re.compile(
    r"\b(?:that|this|the same) (?:city|town|place|country|region|area|province)\b|\bthere\b", re.IGNORECASE
)
_PRONOUN = re.compile(
    r"\b(?:it|its|they|them|their|he|him|his|she|her|these|those)\b", re.IGNORECASE
)


def rewrite_followup(question: str, history: Sequence[Turn]) -> str:
    """Make a follow-up standalone with the names of the previous question(s); other questions pass.

    A follow-up starts with "and"/"what about", or leans on a pronoun ("it", "they", "there", "that
    city"). "What about X?" swaps X into the previous question; otherwise the previous names not yet in
    the question are added in brackets (or replace "there"/"that city" when there is one place).
    """
    names = _previous_names(history)
    if not names:
        return question
    about = _WHAT_ABOUT.match(question)
    if about:
        return _swap_names(about.group("rest"), history, names) or question
    stripped = _LEAD.sub("", question)
    leads = stripped != question
    if not (leads or _PLACE_REF.search(question) or _PRONOUN.search(question)):
        return question
    if not leads and not _PLACE_REF.search(question) and question_names(question):
        return question  # "what did Iran tell them about Hama?" names its own subject: leave it alone
    missing = [n for n in names if n.lower() not in question.lower()]
    if not missing:
        return stripped or question
    body = stripped.rstrip().rstrip("?").rstrip()
    if len(missing) == 1 and _PLACE_REF.search(body):
        # "how far is that city from Aleppo?" -> "how far is Hama from Aleppo?"
        body = _PLACE_REF.sub(lambda m: _place_phrase(m.group(0), missing[0]), body, count=1)
        return body + "?"
    return f"{body} ({', '.join(missing)})?"


def question_names(text: str) -> list[str]:
    """Capitalised names in a question, in order, without duplicates or question words."""
    out: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0].lower() in _NOT_NAMES:  # "When Hama" -> "Hama"
            words = words[1:]
        name = " ".join(words)
        if name and name.lower() not in _NOT_NAMES and name not in out:
            out.append(name)
    return out


def _previous_names(history: Sequence[Turn]) -> list[str]:
    # The latest question that names something: "and who led it?" after "and when?" still means Hama.
    for user, _ in reversed(history[-HISTORY_TURNS:]):
        names = question_names(user)
        if names:
            return names
    return []


def _swap_names(new: str, history: Sequence[Turn], names: list[str]) -> str | None:
    """The previous question with its last name replaced by `new` ("what about Aleppo?").

    The last name, because questions tend to end on the place or thing asked about: "when did the
    army leave Hama?", "when did HTS take Hama?".
    """
    new = new.strip().rstrip("?").strip()
    if not new:
        return None
    for user, _ in reversed(history[-HISTORY_TURNS:]):
        if question_names(user) == names:
            previous = user.strip().rstrip("?").strip()
            at = previous.rfind(names[-1])
            return previous[:at] + new + previous[at + len(names[-1]):] + "?"
    return None


def _place_phrase(reference: str, name: str) -> str:
    return f"in {name}" if reference.lower() == "there" else name
