"""Numbers in running text: number words, quantities with units, money and percentages.

One copy of these patterns for the whole package: the sentence scorer (does a sentence hold a count?),
the short-answer picker (which span is the answer?), the disagreement finder (do two counts differ?) and
the eval's support judge (is every number of a claim in the evidence?).
"""

from __future__ import annotations

import re

# Cardinal words as values. "a"/"an" are left to callers that mean "one" by them ("a day later").
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
SCALE_WORDS: dict[str, int] = {"hundred": 100, "thousand": 1_000, "million": 1_000_000,
                               "billion": 1_000_000_000, "trillion": 1_000_000_000_000}
VAGUE_COUNTS = ("dozens", "dozen", "hundreds", "thousands", "millions", "several", "scores")

NUMBER_WORD = "(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
_DIGITS = r"\d[\d,]*(?:\.\d+)?"
_SCALE = r"(?:\s+(?:hundred|thousand|million|billion|trillion)|(?:bn|m|k)\b)?"
# A number as written: "48", "1,200", "3.5 million", "five", "twenty-five".
NUMBER = rf"(?:{_DIGITS}{_SCALE}|{NUMBER_WORD}(?:-{NUMBER_WORD})?{_SCALE})"

_CURRENCY_SYMBOL = r"(?:US\$|A\$|C\$|HK\$|\$|€|£|¥|₹)"
_CURRENCY_WORD = (r"(?:dollars?|euros?|pounds?(?: sterling)?|yen|yuan|rupees?|francs?|roubles?|rubles?|"
                  r"pesos?|won|USD|EUR|GBP)")
MONEY = re.compile(rf"(?:{_CURRENCY_SYMBOL}\s?{_DIGITS}{_SCALE}|\b{NUMBER}\s+{_CURRENCY_WORD}\b)", re.I)
PERCENT = re.compile(rf"\b{NUMBER}\s?(?:%|per\s?cent\b|percentage points?\b)", re.I)
DISTANCE = re.compile(rf"\b{NUMBER}\s*(?:-\s*)?(?:kilomet(?:er|re)s?|km|miles?|meters?|metres?)\b", re.I)
# A span of time: "20 years", "a 20-year sentence", "six months", "90-day".
DURATION = re.compile(rf"\b(?:{NUMBER}|an?)\s*(?:-\s*)?(?P<unit>years?|months?|weeks?|days?|hours?|minutes?|"
                      rf"decades?|centuries|century)\b(?!\s+(?:ago|old|earlier|later)\b)(?!-old)", re.I)


def duration_text(match: re.Match[str]) -> str:
    """A DURATION match as an answer says it: "a 20-year sentence" -> "20 years", "six months"."""
    value = re.split(r"\s*-\s*|\s+", match.group(0).strip())[0]
    unit = match.group("unit").lower()
    unit = "century" if unit.startswith("centur") else unit.removesuffix("s")
    one = value.lower() in ("1", "one", "a", "an")
    plural = "centuries" if unit == "century" else unit + "s"
    return f"{'1' if value.lower() in ('a', 'an') else value} {unit if one else plural}"


# A count: any number that is not a year ("since 2020" does not answer "how many"), or a vague count.
QUANTITY = re.compile(rf"\b(?!(?:19|20)\d\d\b)(?:{NUMBER}|{'|'.join(VAGUE_COUNTS)}|dozen)\b", re.I)
# An amount, what "how much" asks for without saying of what: money, a percentage or else a count. At one
# spot the alternatives are tried in that order, so "$20,000" and "12 percent" keep their units.
AMOUNT = re.compile(rf"{MONEY.pattern}|{PERCENT.pattern}|{QUANTITY.pattern}", re.I)


def is_bare_count(figure: str) -> bool:
    """Whether an AMOUNT match is a count alone ("22", "dozens"), not money or a percentage."""
    return not (MONEY.fullmatch(figure.strip()) or PERCENT.fullmatch(figure.strip()))


# A figure belongs to another time when its clause says so ("up from 40,000 last year").
_OTHER_TIME = re.compile(r"\b(?:last|previous|prior) (?:year|month|week|season|quarter)|"
                         r"\ba year (?:earlier|ago|before)\b|\bup from\b|\bdown from\b|\bcompared (?:with|to)\b",
                         re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def figures_for(text: str, pattern: re.Pattern[str], question: str) -> list[re.Match[str]]:
    """The figures of `text` (matches of `pattern`) that can answer `question`: a figure whose clause names
    another year than the question does, or says "last year" / "up from" when the question does not, is
    about another time ("52,000 attended, up from 40,000 last year" answers "how many attended?" with 52,000).
    """
    asked_years = set(_YEAR.findall(question))
    asked_other = _OTHER_TIME.search(question)
    found = []
    for match in pattern.finditer(text):
        clause = _clause(text, match.start(), match.end())
        years = set(_YEAR.findall(clause))
        if asked_years and years and not years & asked_years:
            continue
        if not asked_years and not asked_other and _OTHER_TIME.search(clause):
            continue
        found.append(match)
    return found


# "85%" on a line of its own, then "That's the percentage of rural land at risk": a newsletter's figure of
# the day is stated bare and explained by the sentence after it, which refers back to it.
_REFERS_BACK = re.compile(r"^\W*(?:that|this|it)(?:['’]s|\s+is|\s+was)\s+(?:the|how)\b", re.I)


def referred_figure(text: str, previous: str, pattern: re.Pattern[str]) -> str | None:
    """The figure `text` refers back to ("That's the number of ..."), when the sentence before it is that
    figure alone; None otherwise."""
    if not _REFERS_BACK.match(text):
        return None
    bare = previous.strip().rstrip(".")
    match = pattern.search(bare)
    return bare if match and match.group(0).strip() == bare and bare else None


def _clause(text: str, start: int, end: int) -> str:
    left = max(text.rfind(p, 0, start) for p in ",;:()—") + 1
    rights = [i for i in (text.find(p, end) for p in ",;:()—") if i != -1]
    return text[left:min(rights) if rights else len(text)]


def count_distance(match: re.Match[str], spots: list[int]) -> float:
    """How far a figure is from the nearest mention of the counted thing (word starts in `spots`), measured
    from the figure's end when it stands before the noun, as a count does in English ("four as-yet-unnamed
    astronauts on an eight-day mission": four counts the astronauts, eight the days)."""
    return min(((s - match.end()) if match.end() <= s else (match.start() - s) for s in spots), default=0.0)


def number_value(text: str) -> float | None:
    """The value of a number as written ("1,200" -> 1200, "3.5 million" -> 3.5e6, "five" -> 5), else None."""
    text = text.strip().lower().replace("-", " ")
    digits = re.match(r"[^\w\s]*(\d[\d,]*(?:\.\d+)?)(bn|m|k)?\b", text)
    words = text.split()
    if digits:
        value = float(digits.group(1).replace(",", ""))
        value *= {"bn": 1e9, "m": 1e6, "k": 1e3}.get(digits.group(2) or "", 1)
    elif words and words[0] in NUMBER_WORDS:
        value = float(NUMBER_WORDS[words[0]])
        if len(words) > 1 and words[1] in NUMBER_WORDS and NUMBER_WORDS[words[1]] < 10:  # "twenty five"
            value += NUMBER_WORDS[words[1]]
    else:
        return None
    for word in words[1:3]:
        if word in SCALE_WORDS:
            value *= SCALE_WORDS[word]
    return value
