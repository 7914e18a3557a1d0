"""Proper names in running text: capitalised word runs, minus the words capitalised only by position.

Shared by the sentence scorer (does a sentence hold a name the question lacks?) and the short-answer
picker (which name answers "who" / "which company"?).
"""

from __future__ import annotations

import re

from rag.text.normalize import fold

# Capitalised words, joined by the particles names carry ("Abu al-Qaqaa", "Bank of America").
# Dotted initials keep their last full stop ("the U.S.", "U.K."), which a name's last letter would drop.
# A middle initial ("John F. Kennedy", "George W. Bush") continues a name when a capitalised word follows;
# an ordinal starts one ("the 13th Amendment", "the 101st Airborne Division"); a brand may start lower case
# ("iPhone", "eBay"), but only starts a name ("Apple's iPhone" is Apple and iPhone).
_NAME = re.compile(r"(?:\b\d{1,3}(?:st|nd|rd|th)\s+(?=[A-Z]))?"
                   r"(?:\b(?:[A-Z]\.){2,}(?!\w)|[A-Z][\w'’.-]*[\w]|\b[a-z][A-Z][\w'’.-]*[\w])"
                   r"(?:\s+(?:(?:al|el|bin|bint|ibn|de|da|van|von|of|the|for|and)[\s-]+)*"
                   r"(?:\b(?:[A-Z]\.){2,}(?!\w)|[A-Z][\w'’.-]*[\w]|[A-Z]\.(?=\s+[A-Z])))*")
# Words capitalised only because they start a sentence or a clause, and the names of days and months.
_NOT_NAMES = frozenset("""a an the in on at by for from of to with as after before during since until but
and or if when while this that these those it its he she they we i his her their our there here however
meanwhile also earlier later last next according still yet so then now today yesterday former monday tuesday
wednesday thursday friday saturday sunday january february march april may june july august september
october november december""".split())
# Month abbreviations are dates only when written with their full stop ("Nov. 3"); "Jan Smith" is a name.
_MONTH_ABBREVIATIONS = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())
# One capitalised word naming a people or a creed ("Syrian", "Islamist", "Iraqi") describes, not names.
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ean|ese|ish|ist|ists|ic|i)$")


# Titles split a run into the names around them: "Southwest CEO Bob Jordan" is Southwest and Bob Jordan.
_TITLES = frozenset("""ceo cfo chief president vice prime minister secretary senator sen rep representative gov
governor mayor judge justice chairman chairwoman chair director ambassador spokesman spokeswoman spokesperson
coach king queen prince princess pope dr mr mrs ms general gen commander founder""".split())
# A dateline opens a story: "NEW YORK —", "Washington (CNN)".
_DATELINE = re.compile(r"\s*(?:\([A-Z][\w .]*\))?\s*[—–-]|\s*\([A-Z][\w .]*\)")


# The titles that are part of how news names a person ("President Joe Biden", "Gov. Ron DeSantis", "Pope
# Francis"), written right before the name; not job descriptions ("Southwest CEO Bob Jordan") nor titles
# whose first word would be cut off ("Foreign Minister", "Attorney General").
_STYLE_BEFORE = re.compile(r"\b((?:Vice\s+)?President|Prime\s+Minister|Senator|Sen\.|Rep\.|Representative|Gov\.|"
                           r"Governor|Mayor|Judge|Justice|King|Queen|Prince|Princess|Pope|Dr\.|Mr\.|Mrs\.|Ms\.|Gen\.)\s+$")


def with_style(text: str, start: int, name: str) -> str:
    """`name` (found at `start` in `text`) with the title written right before it, as the article styles the
    person: "President Joe Biden", "Prime Minister Liz Truss"; the name alone otherwise."""
    match = _STYLE_BEFORE.search(text[max(0, start - 30):start])
    return f"{match.group(1)} {name}" if match else name


def proper_names(text: str) -> list[tuple[int, str]]:
    """(offset, name) of each proper name in `text`, in order; leading and trailing common words trimmed,
    runs split at titles, a story's dateline left out."""
    out = []
    for start, words in _runs(text):
        if start == 0 and _DATELINE.match(text, len(" ".join(words))):
            continue
        words = _without_label(words)
        name = re.sub(r"['’]s$", "", " ".join(words))
        # "Mississippi's capital": a word with a demonym's ending that owns something is a name ("Iraqi" never does).
        possessive = words[-1].endswith(("'s", "’s"))
        if name and not (len(words) == 1 and _DEMONYM.match(name) and not possessive):
            out.append((start, name))
    return out


def _without_label(words: list[str]) -> list[str]:
    """A photo caption's name label run into its text ("Serena Williams Serena Williams waves", "Serena
    Williams Williams attends") names the person once. Two-word runs stay ("Walla Walla")."""
    half = len(words) // 2
    if half >= 2 and len(words) % 2 == 0 and words[:half] == words[half:]:
        return words[:half]
    if len(words) >= 3:
        return [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    return words


def _runs(text: str) -> list[tuple[int, list[str]]]:
    runs = []
    for match in _NAME.finditer(text):
        start = match.start()
        current: list[str] = []
        words = match.group(0).split()
        for i, word in enumerate(words):
            # A title word closing a run after a given name is a surname ("Aaron Judge", "Stephen King",
            # "Burger King"), unless the run names a people ("the Ukrainian President").
            # Abbreviations ("Gov.", "CEO", "Mrs") stay titles.
            surname = (i == len(words) - 1 and bool(current) and len(word) >= 4 and word[1:].islower()
                       and text[match.end():match.end() + 1] != "."
                       and not _DEMONYM.match(current[-1]) and fold(current[-1]).rstrip(".") not in _TITLES)
            if fold(word).rstrip(".") in _TITLES and not surname:
                if current:
                    runs.append((start, current))
                start += len(" ".join(current)) + len(word) + (2 if current else 1)
                current = []
            else:
                current.append(word)
        if current:
            runs.append((start, current))
    kept = [(start, words) if _quoted_title(text, start, words) else _trim(text, start, words)
            for start, words in runs]
    return [(start, _numbered(text, start, words)) for start, words in kept if words]


# A name that ends in its number ("Title 42", "Super Bowl 57", "Channel 4", "Apollo 11"): a bare number of at
# most three digits right after the name, not a quantity ("Apple 10 years ago"), a decimal or a score
# ("the Heat 110-102", "Jets 14, Patriots 28"), and not possessive or a day ("May 6" never gets here).
_NAME_NUMBER = re.compile(r" (\d{1,3})(?![\w%]|[.,:/–-]\d|\s*[-–]|\s+(?:to|of|and|or|per|percent|points?|million|"
                          r"billion|thousand|hundred|years?|months?|weeks?|days?|hours?|minutes?|seconds?|people|"
                          r"times)\b|,?\s+[A-Z][\w'’.-]*\s+\d)")


def _numbered(text: str, start: int, words: list[str]) -> list[str]:
    end = start + len(" ".join(words))
    if (words[-1].endswith(("'s", "’s")) or text[end - len(words[-1]):end] != words[-1]
            or re.search(r"\d,?\s+$", text[:start])):  # the second side of a score: "Jets 14, Patriots 28"
        return words
    match = _NAME_NUMBER.match(text, end)
    return [*words, match.group(1)] if match else words


# A run that fills a quotation is a title, day and month names included ("Saturday Night Live", "May Day").
_OPEN_QUOTE = frozenset("\"“‘'")
_CLOSE_QUOTE = re.compile(r"[,.!?]?[\"”’']")


def _quoted_title(text: str, start: int, words: list[str]) -> bool:
    end = start + len(" ".join(words))
    return start > 0 and text[start - 1] in _OPEN_QUOTE and bool(_CLOSE_QUOTE.match(text, end))


def _trim(text: str, start: int, words: list[str]) -> tuple[int, list[str]]:
    while words and _not_name(text, start, words[0]):
        start += len(words[0]) + 1
        words = words[1:]
    while words and _not_name(text, start + len(" ".join(words[:-1])) + (1 if len(words) > 1 else 0), words[-1]):
        words = words[:-1]
    return start, words


def _not_name(text: str, start: int, word: str) -> bool:
    """A common word, or a day or month, possessive ("Tuesday's runoffs") or abbreviated ("Nov. 3")."""
    bare = fold(re.sub(r"['’]s$", "", word))
    if bare in _NOT_NAMES:
        return True
    end = start + len(word)
    return bare in _MONTH_ABBREVIATIONS and text[end:end + 1] == "."


def name_held(token: str, asked: set[str]) -> bool:
    """The question holds this name word (a lexical token), or a longer form of it ("syria" in "syrian")."""
    return token in asked or (len(token) >= 4 and any(a.startswith(token) for a in asked))


# A capitalised word that may name a people after its place: "Cuban(s)", "Iranian", "Chinese", "Israeli".
_PEOPLE_WORD = re.compile(r"\b[A-Z][a-z]{2,}(?:an|ans|ese|ish|is?)\b")


def derives_from(word: str, place: str) -> bool:
    """Whether `word` may be the people or adjective of the one-word place `place`, read from the spelling
    alone, no word list: "Cuban" of Cuba, "Iranian" of Iran, "Chinese" of China, "German" of Germany (the
    place, less a final a/e/o/y, plus at most a three-letter ending, then an optional plural s)."""
    w, p = fold(word).removesuffix("s"), fold(place)
    if len(p) < 4 or " " in p or w == p:
        return False
    stems = [p] + ([p[:-1]] if p[-1] in "aeoy" and len(p) >= 5 else [])
    return any(w.startswith(stem) and len(w) - len(stem) <= 3 for stem in stems)


def people_words(text: str) -> list[str]:
    """The words of `text` that may name a people after its place ("Iranian lawmakers", "Cubans will vote")."""
    return _PEOPLE_WORD.findall(text)
