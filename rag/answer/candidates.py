"""Answer redundancy: news repeats an answer across outlets, so the name most of the best sentences give wins.

The sentence scorer rewards a sentence for covering the question's words, which favours sentences that
restate the question ("X is acquiring the controversial platform after being removed from Twitter") over
the one that answers it ("X agreed to buy Parler"). Following the redundancy idea of AskMSR (Brill et al.,
2002), `name_candidates` reads the proper names the question does not already hold out of the best-scored
sentences and gives each the summed support of the articles whose sentences hold it (an article counts
once, at its best sentence, so one long story repeating its subject does not outvote several outlets).
`rescore` then lifts each sentence by the support of the best answer it holds, so the quoted sentence is
the best one holding the best-supported answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from rag.retrieve.rerank import Candidate
from rag.settings import AnswerConfig
from rag.text.lexicon import Lexicon
from rag.text.names import derives_from, name_held, people_words, proper_names, with_style
from rag.text.places import Gazetteer
from rag.text.tokens import lexical_tokens


@dataclass
class AnswerCandidate:
    """One answer name, with every sentence of the pool that holds it."""

    key: frozenset[str]  # its lexical tokens: "JetBlue" and "JetBlue's" are one candidate
    forms: dict[str, int] = field(default_factory=dict)  # as written -> times seen
    support: float = 0.0  # summed votes of the articles holding it
    fit: float = 0.0  # embedding similarity to the kind of thing asked for ("currency", "airline")
    typed: bool = False  # a sentence calls it an X, for "which X" ("the zodiac sign Cancer")
    people: frozenset[str] = frozenset()  # lexical tokens of the words for its people ("iranian" for Iran)
    value: float = 0.0  # support relative to the best supported, plus the weighted fit
    own_forms: tuple[str, ...] = ()  # the forms written as this name itself, not as part of a fuller one
    shown: str = ""  # the form to answer with, where the caller chose one (see `label`)

    def held_by(self, tokens: set[str]) -> bool:
        """Whether a sentence with these lexical tokens holds this answer: its name, or (for a place whose
        people words count, see `add_peoples`) the word for its people ("Iranian lawmakers" holds Iran)."""
        return self.key <= tokens or bool(self.people & tokens)

    @property
    def name(self) -> str:
        """The fullest form the articles use."""
        return max(self.forms, key=lambda f: (len(f.split()), self.forms[f], len(f)))

    @property
    def label(self) -> str:
        """The form an answer says: `shown` where the caller chose it, else the fullest."""
        return self.shown or self.name

    @property
    def plain_name(self) -> str:
        """The form most written as this name itself: "Bahamas", where `name` is "Royal Bahamas Police
        Force" (a fuller name is often another thing named after it)."""
        own = self.own_forms or tuple(self.forms)
        return max(own, key=lambda f: (self.forms[f], -len(f.split())))


def name_candidates(question: str, ranked: list[Candidate], lexicon: Lexicon,
                    config: AnswerConfig) -> list[AnswerCandidate]:
    """The names the question lacks in the best sentences, best supported first."""
    pool = _pool(ranked, config)
    if not pool:
        return []
    asked = set(lexical_tokens(question, lexicon))
    found: dict[frozenset[str], AnswerCandidate] = {}
    for cand in pool:
        for key, form in _novel_names(cand.text, asked, lexicon):
            forms = found.setdefault(key, AnswerCandidate(key)).forms
            forms[form] = forms.get(form, 0) + 1
    for answer in found.values():
        answer.own_forms = tuple(answer.forms)
    for answer in found.values():  # "JetBlue" is shown as "JetBlue Airways" where an article says so
        fuller = {f: n for other in found.values() if answer.key < other.key for f, n in other.forms.items()}
        answer.forms.update(fuller)
    answers = list(found.values())
    _vote(answers, pool, lexicon, config)
    return answers


def _vote(answers: list[AnswerCandidate], pool: list[Candidate], lexicon: Lexicon, config: AnswerConfig) -> None:
    """Each answer's support: the summed vote of the articles holding it, each at its best sentence. An
    article's headline says what its story is about, so a name in it gets `headline_vote` of the article's
    vote even where the best sentence lacks it (headlines are never quoted, but they may vote)."""
    top = pool[0].score
    weights = [math.exp((c.score - top) / config.redundancy_temperature) for c in pool]
    sentence_tokens = [set(lexical_tokens(c.text, lexicon)) for c in pool]
    doc_weight: dict[str, float] = {}
    headlines: dict[str, set[str]] = {}
    for cand, weight in zip(pool, weights, strict=True):
        doc = cand.passage.doc_id
        doc_weight[doc] = max(doc_weight.get(doc, 0.0), weight)
        if config.headline_vote and doc not in headlines:
            headlines[doc] = set(lexical_tokens(str(cand.passage.meta.get("title") or ""), lexicon))
    for answer in answers:
        best_per_doc: dict[str, float] = {}
        for cand, tokens, weight in zip(pool, sentence_tokens, weights, strict=True):
            if answer.held_by(tokens):
                doc = cand.passage.doc_id
                best_per_doc[doc] = max(best_per_doc.get(doc, 0.0), weight)
        for doc, title in headlines.items():
            if title and answer.held_by(title):
                best_per_doc[doc] = max(best_per_doc.get(doc, 0.0), config.headline_vote * doc_weight[doc])
        answer.support = sum(best_per_doc.values())


def people_places(question: str, ranked: list[Candidate], lexicon: Lexicon, config: AnswerConfig
                  ) -> dict[str, set[str]]:
    """The one-word names of the pool's passages that a people word of a pool sentence may stand for
    ("Cubans will vote" -> Cuba, when a passage names Cuba), each with those words; none the question holds."""
    pool = _pool(ranked, config)
    words = {w for c in pool for w in people_words(c.text)}
    if not words:
        return {}
    asked = set(lexical_tokens(question, lexicon))
    places: dict[str, set[str]] = {}
    for passage in {id(c.passage): c.passage for c in pool}.values():
        for _, name in proper_names(passage.text):
            key = set(lexical_tokens(name, lexicon))
            if " " in name or not key or key <= asked:
                continue
            found = {w for w in words if derives_from(w, name)}
            if found:
                places.setdefault(name, set()).update(found)
    return places


def add_peoples(answers: list[AnswerCandidate], places: dict[str, set[str]], ranked: list[Candidate],
                lexicon: Lexicon, config: AnswerConfig) -> list[AnswerCandidate]:
    """`answers` with each of `places` held by the sentences that say its people word too (a new candidate
    where no sentence named the place itself), and every support counted again. The caller chooses the
    places: a people word is an adjective as often as not ("the Syrian army"), so it should only stand
    for a place when a place is what the question asks for."""
    by_key = {a.key: a for a in answers}
    for place, words in places.items():
        key = frozenset(lexical_tokens(place, lexicon))
        answer = by_key.get(key)
        if answer is None:
            answer = by_key[key] = AnswerCandidate(key, forms={place: 1})
        answer.people |= frozenset(t for w in words for t in lexical_tokens(w, lexicon))
    out = list(by_key.values())
    _vote(out, _pool(ranked, config), lexicon, config)
    return out


def weigh(answers: list[AnswerCandidate], config: AnswerConfig) -> list[AnswerCandidate]:
    """Each answer's value, best first: its support relative to the best supported (counted
    1 + `apposition_weight` times when a sentence calls it the kind asked for), plus `type_weight` x fit.
    A typed name multiplies its votes rather than adding a fixed amount, so one passing mention far down
    the pool ("the social media platform CrowdTangle") does not outvote the answer every outlet gives."""
    best = max((a.support for a in answers), default=0.0) or 1.0
    for answer in answers:
        votes = answer.support / best * (1.0 + (config.apposition_weight if answer.typed else 0.0))
        answer.value = votes + config.type_weight * answer.fit
    return sorted(answers, key=lambda a: -a.value)


def mark_apposition(answers: list[AnswerCandidate], ranked: list[Candidate], asked_for: str,
                    config: AnswerConfig) -> None:
    """Set `typed` on each answer that a pool sentence names in apposition with the head noun of the kind
    asked for: "the zodiac sign Cancer", "the city of Buffalo" (noun, then name) or "Parler, the social
    media platform" (name, comma, article, noun). The article's own words say what the name is, which
    the embedding fit of a bare name ("Cancer" against "sign") often misses."""
    head = asked_for.split()[-1].lower() if asked_for.split() else ""
    if len(head) < 3:
        return
    noun = rf"{re.escape(head)}(?:s|es)?"
    before = re.compile(rf"\b{noun}\s+(?:of\s+|called\s+|named\s+)?$", re.I)
    after = re.compile(rf"^['’]?s?,\s+(?:the|a|an)\s+(?:[\w’'-]+\s+){{0,3}}{noun}\b", re.I)
    texts = [c.text for c in _pool(ranked, config)]
    for answer in answers:
        answer.typed = any(before.search(text[:i]) or after.search(text[i + len(form):])
                           for text in texts for form in answer.forms
                           for i in (m.start() for m in re.finditer(re.escape(form), text)))


def mark_known_places(answers: list[AnswerCandidate], asked_for: str, gazetteer: Gazetteer) -> None:
    """Set `typed` on each answer the gazetteer lists as the kind of place asked for ("which country":
    Moldova is one, Brussels is not), as if an article had said "the country of Moldova"."""
    kind = gazetteer.kind_of(asked_for)
    if kind is None:
        return
    for answer in answers:
        answer.typed = answer.typed or gazetteer.holds(kind, answer.key)


def rescore(ranked: list[Candidate], answers: list[AnswerCandidate], lexicon: Lexicon,
            config: AnswerConfig) -> list[tuple[float, Candidate, AnswerCandidate | None]]:
    """The pool's sentences re-ordered by score plus the (relative) support of the best answer each holds."""
    pool = _pool(ranked, config)
    best = max((a.value for a in answers), default=0.0)
    out = []
    for cand in pool:
        tokens = set(lexical_tokens(cand.text, lexicon))
        held = [a for a in answers if a.held_by(tokens)]
        answer = max(held, key=lambda a: a.value, default=None)
        lift = config.redundancy_weight * max(0.0, answer.value / best) if answer and best > 0 else 0.0
        out.append((cand.score + lift, cand, answer))
    return sorted(out, key=lambda t: -t[0])


def lead_with_winner(rescored: list[tuple[float, Candidate, AnswerCandidate | None]],
                     answers: list[AnswerCandidate], margin: float
                     ) -> list[tuple[float, Candidate, AnswerCandidate | None]]:
    """`rescored` with the best sentence holding the best-valued answer first, when the sentence that leads
    holds another answer, worth at least `margin` less (0: never). The lift `rescore` gives is capped, so a
    sentence scoring well on the question's words can still outrank every sentence holding the answer the
    articles agree on; the short answer is read from the first sentence, so it should be that answer."""
    if not margin or not rescored or not answers:
        return rescored
    leading = rescored[0][2]
    if leading is None or leading is answers[0]:
        return rescored  # a sentence naming no answer may describe it ("the retailer"): left to the caller
    first = next((i for i, (_, _, a) in enumerate(rescored) if a is answers[0]), None)
    if first is None or answers[0].value - leading.value < margin:
        return rescored
    return [rescored[first]] + rescored[:first] + rescored[first + 1:]


def _pool(ranked: list[Candidate], config: AnswerConfig) -> list[Candidate]:
    """The sentences close enough to the best one to vote."""
    if not ranked:
        return []
    floor = ranked[0].score - config.redundancy_margin
    return [c for c in ranked[: config.redundancy_pool] if c.score >= floor]


# Where a sentence or a clause starts, so a capital letter says nothing: the start, or after a colon or dash.
_CLAUSE_START = re.compile(r"(?:^|[:—–]\s*)[\"'“‘(]?$")


def _novel_names(text: str, asked: set[str], lexicon: Lexicon) -> list[tuple[frozenset[str], str]]:
    """(key, form) of each name in `text` with a word the question lacks."""
    out = []
    for start, name in proper_names(text):
        tokens = frozenset(t for t in lexical_tokens(name, lexicon) if not name_held(t, asked))
        if not tokens:
            continue
        if len(name.split()) == 1 and _CLAUSE_START.search(text[:start]):
            continue  # capitalised by position only, as often as not ("Investigations are underway", ": First,")
        out.append((tokens, with_style(text, start, name)))  # shown as written: "President Joe Biden"
    return out
