"""Short answers: the date, figure, name or place a quoted sentence gives, said before the quote.

`short_answer` reads one sentence for what the question asks (`rag.retrieve.rerank.question_kind`):
- a date: the mention nearest the question's words, resolved against the dateline (`key_date`);
- a distance, a span of time, money, a percentage or a count (for "how much": money or a percentage before a
  count): the figure nearest the counted thing, skipping figures
  that belong to another year or period than the one asked about ("up from 40,000 last year");
- a name or a place: the proper name the question does not already hold; when the sentence only says
  "he" or "the retailer", the name comes from the sentence before (`named_referent`);
- a quotation ("held a sign saying what?"): the longest one the sentence holds;
- a statement to complete ("... a record previously held by:"): what the sentence writes after the
  statement's last words ("previously held by Roger Maris"), a figure or a name when one starts there.
"""

from __future__ import annotations

import re

from rag.answer.conflict import Sentence, event_words, key_date
from rag.retrieve.rerank import PATTERNS
from rag.text.lexicon import Lexicon
from rag.text.names import name_held, proper_names, with_style
from rag.text.numbers import count_distance, duration_text, figures_for, is_bare_count, referred_figure
from rag.text.tokens import STOPWORDS, lexical_tokens

_PRONOUN = re.compile(r"^\W*(?:he|she|they|it|his|her|their|its)\b", re.I)
# "the retailer", "the company", "the 45-year-old": a definite description standing for a name.
_DESCRIPTION = re.compile(r"^\W*(?i:the)\s+(?:[\w-]+\s+){0,2}?([a-z][\w-]+)\b(?=\s+(?:said|says|has|had|is|was|will|"
                          r"would|announced|added|told|reported|confirmed|plans|agreed|[a-z]+ed)\b)")
def short_answer(sentence: Sentence, kind: str | None, question: str, lexicon: Lexicon,
                 focus: str | None = None) -> str | None:
    """The answer itself, as the article words it, or None when the sentence holds nothing of that kind."""
    if kind == "date":
        found = key_date(sentence, question, lexicon)
        return found.describe() if found else None
    if kind in ("distance", "duration", "money", "percent", "number", "amount"):
        return (figure(sentence.text, PATTERNS[kind], question, focus, lexicon)
                or referred_figure(sentence.text, previous_sentence(sentence), PATTERNS[kind]))
    if kind in ("name", "place"):
        return named_answer(sentence, question, lexicon, place=kind == "place")
    if kind == "quote":  # the longest quotation: "a sign that read “Who voted for this?”"
        quotes = [m.group(1).strip() for m in PATTERNS["quote"].finditer(sentence.text)]
        return max(quotes, key=len) if quotes else None
    if kind is None and question.rstrip().endswith(":"):
        return continuation(sentence.text, question, lexicon)
    return None


_QUOTED_START = re.compile(r"[\"“‘']([^\"”’']{2,60})[\"”’']")


def continuation(text: str, question: str, lexicon: Lexicon) -> str | None:
    """What `text` writes right after the last words of a statement to complete ("The record was previously
    held by:" -> "Roger Maris" in "previously held by Roger Maris, who ..."): the figure or name that starts
    there, a quotation, or the words up to the clause's end (at most six). The last two words are matched
    first, then the last one alone when it occurs once; None when the sentence does not continue them."""
    words = re.findall(r"[\w’'-]+", question.rstrip().rstrip(":"))
    for anchor in ([" ".join(words[-2:])] if len(words) >= 2 else []) + words[-1:]:
        found = list(re.finditer(rf"\b{re.escape(anchor)}\b", text, re.I))
        if len(found) == 1 or (found and " " in anchor):
            rest = text[found[0].end():].lstrip()
            return _leading_answer(rest, lexicon)
    return None


def _leading_answer(rest: str, lexicon: Lexicon) -> str | None:
    """The answer a continuation starts with (see `continuation`)."""
    if not rest or not rest[0].isalnum() and rest[0] not in "$£€\"“‘'":
        return None
    for kind in ("money", "percent", "distance", "number"):
        figure_match = PATTERNS[kind].match(rest)
        if figure_match and figure_match.group(0).strip():
            return _with_unit(rest, figure_match, None, lexicon) if kind == "number" else figure_match.group(0).strip()
    quoted = _QUOTED_START.match(re.sub(r"^(?i:the|a|an)\s+", "", rest))
    if quoted:
        return quoted.group(1).strip(" ,.")
    names = proper_names(rest)
    if names:  # a name right there, after at most an article ("the Netherlands") or a title ("President")
        start, name = names[0]
        styled = with_style(rest, start, name)
        if re.fullmatch(r"(?:(?i:the|a|an)\s+)?", rest[:start]) or rest[:start].strip() == styled[:-len(name)].strip():
            return styled
    clause = re.split(r"[,;:.()—–]|\s(?:and|but|which|who|after|before|when|while)\s", rest, maxsplit=1)[0]
    kept = clause.split()[:6]
    return " ".join(kept) if kept else None


def figure(text: str, pattern: re.Pattern[str], question: str, focus: str | None, lexicon: Lexicon) -> str | None:
    """The figure of `text` that answers the question: of the asked year or period, nearest the focus."""
    matches = figures_for(text, pattern, question)
    if not matches:
        return None
    if focus:
        spots = [m.start() for m in re.finditer(r"\w+", text) if lexical_tokens(m.group(0), lexicon) == [focus]]
        if spots:
            matches.sort(key=lambda m: count_distance(m, spots))
    if pattern is PATTERNS["amount"]:
        # "How much?" is answered by money or a percentage before a bare count ("$1.50 for 2 items").
        matches.sort(key=lambda m: is_bare_count(m.group(0)))
    if pattern is PATTERNS["duration"]:
        return duration_text(matches[0])  # "her 20-year sentence" answers "how long" as "20 years"
    if pattern is PATTERNS["number"] or (pattern is PATTERNS["amount"] and is_bare_count(matches[0].group(0))):
        return _with_unit(text, matches[0], focus, lexicon)
    return matches[0].group(0).strip()


def _with_unit(text: str, match: re.Match[str], focus: str | None, lexicon: Lexicon) -> str:
    """A count with the noun it counts ("52,000 people", "dozens of families", "two nearby villages": up to
    the counted thing when the question names it, else one word); other figures carry their unit already."""
    value = match.group(0).strip()
    words = re.match(r"((?:\s+of)?)((?:\s+[a-z][a-z-]*){1,3})", text[match.end():])
    if not words:
        return value
    kept: list[str] = []
    for word in words.group(2).split():
        if word in STOPWORDS:
            break
        kept.append(word)
        if focus is None or lexical_tokens(word, lexicon) == [focus]:
            break
    if focus is not None and kept and lexical_tokens(kept[-1], lexicon) != [focus]:
        kept = kept[:1]
    return " ".join([value, *(["of"] if words.group(1) and kept else []), *kept])


def named_answer(sentence: Sentence, question: str, lexicon: Lexicon, place: bool = False) -> str | None:
    """The proper name of the sentence that the question does not already hold, nearest the question's
    event words; or the name "he"/"the retailer" stands for."""
    text = sentence.text
    asked = set(lexical_tokens(question, lexicon))
    names = proper_names(text)
    # The answer sits next to what happened ("led by HTS", "the Wall Street Journal reported"): distance is
    # measured to the question's event words (names excluded, even when the question is all lower case),
    # or to any of its words when no event word occurs in the sentence.
    named = {t for _, n in names for t in lexical_tokens(n, lexicon)}
    events = event_words(question, lexicon) - named
    words = [(m.start(), set(lexical_tokens(m.group(0), lexicon))) for m in re.finditer(r"[\w'-]+", text)]
    spots = [i for i, t in words if t & events] or [i for i, t in words if t & asked]
    best: tuple[float, str] | None = None
    for start, name in names:
        tokens = set(lexical_tokens(name, lexicon))
        if not tokens or all(name_held(t, asked) for t in tokens):
            continue
        if place and not re.search(r"\b(?:in|at|to|from|near|outside|of)\s+(?:the\s+)?$", text[:start]):
            continue
        distance = min((abs(start - s) for s in spots), default=0)
        # Longer names are more often the answer; a name that shares words with the question rarely is.
        shared = any(name_held(t, asked) for t in tokens)
        value = distance - (20 if len(name.split()) > 1 else 0) + (40 if shared else 0)
        if best is None or value < best[0]:
            best = (value, with_style(text, start, name))
    if best is not None:
        return best[1]
    return named_referent(text, previous_sentence(sentence))


def previous_sentence(sentence: Sentence) -> str:
    """The sentence before `sentence` in its passage, or ""."""
    getter = getattr(sentence, "previous_sentence", None)
    return getter() if callable(getter) else ""


def named_referent(text: str, previous: str) -> str | None:
    """The name a sentence's leading "he"/"she"/"it" or "the retailer" stands for: a name in the sentence
    itself ("The retailer, Target, said"), else the first name of the sentence before; None otherwise."""
    if not (_PRONOUN.match(text) or _DESCRIPTION.match(text)):
        return None
    for source in (text, previous):
        for _, name in proper_names(source):
            return name
    return None
