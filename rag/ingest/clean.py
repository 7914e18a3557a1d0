"""Turn scraped article text into clean text plus the metadata the text itself shows.

Scraped pages carry site chrome around the article: toolbar words ("Dark Mode", "Logo"), teaser headline
bullets above the headline, "Share post:" buttons, "Also read: ..." links, and a block of unrelated
teasers after a "Popular" / "More like this" / "Related" heading. The rules here are patterns over whole
lines, not per-site hacks:

- the *head* is every line before the first prose line (a sentence of eight words or more ending in
  punctuation). In the head we drop chrome words, teaser bullets ("• headline" without a full stop) and
  a dateline (a line that is only a date; its date becomes `published`).
- anywhere we drop chrome words, empty "Date:" labels, "Also read: ..." lines and the sentence
  "Read Full Article at SITE." (only that sentence: the rest of its line is article text).
- once the body has started, a teaser heading ("Popular", "Related", "More like this", ...) ends the
  article: it and everything after it go.

What stays: the headline (citations point into the text, and a headline often answers a question), the
standfirst, sub-headings, sign-off lines ("Source: ANA-MPA"), and short captions in other scripts (the
Arabic caption in seed 002): dropping lines by script would delete real text in non-English articles.

The outlet is read from the text in this order, the first that matches wins:
1. a "Source: X" / "Via: X" sign-off among the last lines,
2. a byline "Name for X" among the last lines ("Lucas Dupont for TROIB News"),
3. a wire dateline at the start of the body: "DAMASCUS (Reuters) -",
4. a bare sign-off as the last line: at most four capitalised words, no full stop ("Levant-Agencies"),
5. the site of a "Read Full Article at X" sentence ("RT.com" -> "RT").
The byline wins over "Read Full Article at" because the byline signs the text we actually hold, while the
other names where a teaser came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.text.dates import is_empty_date_label, lede_dateline, parse_dateline


@dataclass
class Cleaned:
    """Clean article text and the metadata found in (and, for datelines, removed from) it."""

    text: str
    title: str | None = None
    outlet: str | None = None
    published: date | None = None


# Whole lines that are site chrome wherever they appear (matched case-insensitively, trailing ":" or "|").
_CHROME = re.compile(
    r"^(?:dark mode|light mode|logo|menu|main menu|navigation|toggle navigation|search|"
    r"skip to (?:main )?content|share(?: (?:this|post|article|story|this (?:article|story|post)|on \w+))?|"
    r"tweet|print|email|e-mail|copy link|subscribe|subscribe now|sign in|sign up|log ?in|register|"
    r"advertisement|ad|sponsored|home|close|"
    r"follow us|back to top|listen to this article|accept(?: all)? cookies|cookie settings|"
    r"(?:facebook|twitter|x|whatsapp|telegram|linkedin|reddit|pinterest|email)"
    r"(?:[\s,|/]+(?:facebook|twitter|x|whatsapp|telegram|linkedin|reddit|pinterest|email))+)"
    r"\s*[:|]?$",
    re.IGNORECASE,
)
# A heading after which a page lists unrelated teasers: it ends the article.
_TEASER_HEADING = re.compile(
    r"^(?:popular|popular (?:posts|stories|news|now)|most popular|most read|most viewed|more like this|"
    r"related|related (?:articles|posts|news|stories|content|coverage|topics)|read more|read next|"
    r"recommended|recommended for you|you may also like|you might also like|you may have missed|trending|"
    r"trending now|latest|latest news|latest stories|more stories|more news|more from .{1,40}|"
    r"comments|\d+ comments|leave a comment|leave a reply|see also|tags|more on this story)\s*:?$",
    re.IGNORECASE,
)
# "Also read: <teaser headline>" and friends; only short lines, so a sentence starting "Read more" stays.
_TEASER_LINK = re.compile(
    r"^(?:also read|read also|read more|see also|related|related article|recommended|watch|read next|"
    r"must read|don'?t miss|trending)\s*[:|–—-]\s*\S.{0,200}$",
    re.IGNORECASE,
)
_SITE = r"(?P<site>[\w][\w&'’-]*(?:\.[a-z]{2,})*(?: [A-Z0-9][\w&'’-]*(?:\.[a-z]{2,})*){0,4})"
_READ_FULL = re.compile(
    rf"\s*\bRead (?:the )?(?:full |whole |complete |original |entire )?(?:article|story|report|post) "
    rf"(?:at|on|from) {_SITE}\s*[.!]?(?=\s|$)",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^[•·▪●◦‣∙*-]\s+")
_PROSE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")

_SOURCE_LINE = re.compile(r"^(?:Source|Sources|Via|Courtesy(?: of)?)\s*[:–—-]\s*(?P<outlet>.{2,60}?)\.?$",
                          re.IGNORECASE)
_NAME = r"[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}"
_OUTLET_NAME = r"[A-Z][\w&.'’-]*(?: [A-Z][\w&.'’-]*){0,4}"
_BYLINE = re.compile(rf"^(?:By )?{_NAME} for (?:the )?(?P<outlet>{_OUTLET_NAME})\.?$")
_WIRE = re.compile(r"^[A-Z][A-Z .,'-]{2,40}\((?P<outlet>[A-Z][\w&. -]{1,30})\)\s*[-–—]")
_SIGN_OFF = re.compile(r"^[A-Z][\w&'’-]*(?: [A-Z][\w&'’-]*){0,3}$")
_DOMAIN = re.compile(r"^(?:www\.)?(?P<name>[\w-]+)\.(?:com|net|org|info|news|co\.uk|co|tv|io)$",
                     re.IGNORECASE)


def clean_text(text: str) -> str:
    """Remove site chrome from scraped article text and normalise its whitespace."""
    return clean_article(text).text


def clean_article(text: str) -> Cleaned:
    """Clean `text` and pull out the title, outlet and publication date it shows."""
    lines = [line.strip() for line in _normalise_newlines(text).split("\n")]
    read_full_sites: list[str] = []
    lines, published = _clean_head(lines)
    lines = _clean_body(lines, read_full_sites)
    body = _join(lines)
    return Cleaned(
        text=body,
        title=_find_title(body),
        outlet=_find_outlet(body, read_full_sites),
        published=published,
    )


def is_prose(line: str) -> bool:
    """A line that reads like article body text rather than a headline, label or link."""
    return not _BULLET.match(line) and len(line.split()) >= 8 and bool(_PROSE_END.search(line))


def _normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    # Non-breaking and zero-width spaces come from HTML and break the line patterns below.
    return text.replace("\u00a0", " ").replace("\u200b", "").replace("\t", " ")


def _clean_head(lines: list[str]) -> tuple[list[str], date | None]:
    """Drop chrome, teaser bullets and the dateline above the first prose line."""
    published: date | None = None
    kept: list[str] = []
    for index, line in enumerate(lines):
        if is_prose(line):
            # With no dateline line above it, the lede may open with one (it stays in the text).
            return kept + lines[index:], published or lede_dateline(line)
        dateline = parse_dateline(line) if line else None
        if dateline:
            published = published or dateline
            continue
        if _is_head_chrome(line):
            continue
        kept.append(line)
    return kept, published


def _is_head_chrome(line: str) -> bool:
    # Teaser bullets are headlines: no full stop. Bullets that are sentences (key points) stay.
    teaser_bullet = bool(_BULLET.match(line)) and not _PROSE_END.search(line)
    return teaser_bullet or bool(_CHROME.match(line)) or is_empty_date_label(line)


def _clean_body(lines: list[str], read_full_sites: list[str]) -> list[str]:
    """Drop chrome lines everywhere and cut the teaser block that follows the article."""
    kept: list[str] = []
    body_started = False
    for line in lines:
        if body_started and _TEASER_HEADING.match(line):
            break
        body_started = body_started or is_prose(line)
        if _CHROME.match(line) or is_empty_date_label(line) or _TEASER_LINK.match(line):
            continue
        line = _READ_FULL.sub(lambda m: _note_site(m, read_full_sites), line).strip()
        kept.append(line)
    return kept


def _note_site(match: re.Match[str], sites: list[str]) -> str:
    sites.append(match.group("site"))
    return ""


def _join(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _find_title(text: str) -> str | None:
    """The first line when it reads like a headline and more text follows it."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    words = first.split()
    if not rest.strip() or not 2 <= len(words) <= 25 or len(first) > 200:
        return None
    if first.endswith((".", ",", ";", ":")) or _BULLET.match(first):
        return None
    if not (first[0].isupper() or first[0].isdigit()):
        return None
    return first


def _find_outlet(text: str, read_full_sites: list[str]) -> str | None:
    """The outlet named by the text, by the precedence in the module docstring."""
    lines = [line for line in text.split("\n") if line.strip()]
    tail = lines[-3:]
    for pattern in (_SOURCE_LINE, _BYLINE):
        for line in reversed(tail):
            match = pattern.match(line)
            if match:
                return match.group("outlet").strip()
    for line in lines[:5]:
        match = _WIRE.match(line)
        if match:
            return match.group("outlet").strip()
    if len(lines) > 1 and _SIGN_OFF.match(lines[-1]) and not parse_dateline(lines[-1]):
        return lines[-1]
    if read_full_sites:
        return _outlet_from_site(read_full_sites[0])
    return None


def _outlet_from_site(site: str) -> str:
    """ "RT.com" -> "RT"; names that are not a bare domain stay as they are."""
    match = _DOMAIN.match(site)
    return match.group("name") if match else site
