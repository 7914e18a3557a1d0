"""Sentence scoring: how well each sentence of the retrieved passages answers the question.

A sentence scores by how much of the question it covers (idf-weighted words, with the lexicon and the
sentence before as context), by embedding similarity, and by whether it holds what the question asks for
(a date for "when", a distance for "how far", money for "how much did it cost", a number for "how many",
a name for "who"). Headlines, captions and other lines that are not sentences are never candidates. The
extractive answerer quotes the best sentences; the retriever reranks passages by their best sentence.
Every weight lives in `rag.settings.AnswerConfig`.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.ingest.embed import Embedder, SpanEmbedder
from rag.models import Passage
from rag.settings import AnswerConfig
from rag.text.dates import MONTH, WEEKDAY, is_comparison_point
from rag.text.lexicon import Lexicon
from rag.text.names import proper_names
from rag.text.numbers import AMOUNT, DISTANCE, DURATION, MONEY, PERCENT, QUANTITY, figures_for, referred_figure
from rag.text.sentences import sentence_spans
from rag.text.tokens import STOPWORDS, lexical_tokens

PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(rf"\b(?:{MONTH}\.? \d{{1,2}}(?:, \d{{4}})?|\d{{1,2}} {MONTH}(?: \d{{4}})?|"
                       rf"(?:since |until |in )?(?:the )?(?:spring|summer|autumn|fall|winter|end) of \d{{4}}|"
                       rf"(?:last |on |this |since last )?{WEEKDAY}|yesterday|today|tonight|overnight|"
                       rf"(?:last|this|earlier this|next) (?:week|month|year)|{MONTH} \d{{4}}|"
                       rf"(?:in |since |until )\d{{4}}|\b(?:19|20)\d{{2}}\b)", re.IGNORECASE),
    "distance": DISTANCE,
    "duration": DURATION,
    "money": MONEY,
    "percent": PERCENT,
    "number": QUANTITY,
    "amount": AMOUNT,
    "place": re.compile(r"\b(?:in|at|to|from|near|outside) (?:the )?[A-Z][a-z]+"),
    # Connectives that introduce a reason; which clause holds the answer is the scorer's business.
    "reason": re.compile(r"\b(?:because|due to|in order to|so as to|aims? to|aimed at|in response to|"
                         r"as a result|owing to|so that|after|following)\b", re.I),
    # A quotation: "held a sign saying what?" is answered by the words on it.
    "quote": re.compile(r"[“\"]([^”\"]{3,}?)[”\"]"),
}
_WORD = re.compile(r"[\w’'-]+")
FIGURES = ("number", "distance", "duration", "money", "percent", "amount")  # question kinds answered by a figure
_AUX = r"(?:is|was|are|were|did|does|do|has|have|had|will|can|could|would|should|may|might)"
# "... for the first time since:", "since at least:": a statement to complete that asks since when.
_SINCE_CLOZE = r"\bsince(?:\s+at\s+least)?\s*:\s*$"
# "in which state", "to what city": a place of a named kind.
_IN_WHICH = r"\b(?:in|to|from|at) (?:which|what) (city|country|state|town|place|region|province)\b"
_KIND_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(r"\b(when|what (?:day|date|year|month|time)|which (?:day|date|year|month)|since when|"
                        r"how long ago)\b|" + _SINCE_CLOZE)),
    ("distance", re.compile(r"\bhow (far|close|distant)\b|\bdistance\b|\bkilomet")),
    ("duration", re.compile(r"\bhow long\b(?! ago)")),
    # "How much have prices risen?" asks for a change: a percentage as often as money.
    ("amount", re.compile(r"\bhow much\b.*\b(?:increase[sd]?|rise[sn]?|rose|fall(?:s|en)?|fell|drop(?:s|ped)?|"
                          r"grow(?:s|n)?|grew|climb(?:s|ed)?|jump(?:s|ed)?|decline[sd]?|shr[iau]nk|soar(?:s|ed)?|"
                          r"surge[sd]?|change[sd]?)\b")),
    ("money", re.compile(r"\bhow much\b.*\b(cost|costs|pay|paid|spend|spent|worth|price|priced|charge|charged|"
                         r"raise|raised|earn|earned|fine|fined|sell|sold|fund|funding|budget|money|owe|invest)|"
                         r"\bhow much money\b|\bwhat (?:was|is|will be) the (?:cost|price|value|fine|budget)\b|"
                         r"\b(?:cost|costs|worth|paid|priced|fined|sold for|raised)\s+(?:about\s+)?how much\b|"
                         r"\b(?:what|which) price\b")),
    ("percent", re.compile(r"\b(?:what|which) (?:percent|percentage|share|proportion)\b|\bhow many percent\b|"
                           r"\bby what percent")),
    # "How much is it?", "raised by how much?": money, a percentage or a count, whichever the sentence gives.
    ("amount", re.compile(r"\bhow much\b")),
    # "What age was she?", "What is his age?" ask for a count of years, as "how old" does.
    ("number", re.compile(r"\bhow (many|old)\b|\bnumber of\b|\b(?:what|which) age\b(?! groups?\b)|"
                          r"\bwhat (?:is|was) (?:his|her|its|their) age\b")),
    ("place", re.compile(r"^\s*where\b|\bwhere (?:is|was|are|were|did|does|do)\b|\bwhere\s*\?\s*$|" + _IN_WHICH)),
    ("reason", re.compile(r"^\s*why\b|\bfor what reason\b|\bwhat (?:was|is) the reason\b|"
                          r"\bwhat (?:led|caused|prompted)\b")),
    ("quote", re.compile(r"\b(?:say|says|said|saying|read|reads|reading|stating|tweeted|wrote|written|chanting|"
                         r"chanted) what\b|\bwhat (?:did|does|do|will|would) (?:[\w’'-]+ ){1,5}?"
                         r"(?:say|read|write|tweet|chant)\s*(?:\?|$|about\b|to\b|after\b|when\b|on\b)")),
    # "What was its name?", "What is the show called?", "renamed to?": the question asks for a name.
    ("name", re.compile(rf"\b(who|whom|whose|(?:the )?name of)\b|^\s*name\b|"
                        r"\bwhat (?:is|was|are|were) (?:(?:the|its|his|her|their) )?(?:[\w’'-]+ ){0,3}?(?:nick)?name\b|"
                        r"\bwhat (?:is|was|are|were) (?:it|they|he|she|(?:the|this|that) (?:[\w’'-]+ ){0,3}?[\w’'-]+) "
                        r"called\b|"
                        rf"\b(?:named|renamed|called|titled)(?: to| as)?\s*[?:]?\s*$|"
                        rf"\bwhich (?!{_AUX}\b)[a-z]+|\bwhat (?!{_AUX}\b|\w+ed\b)[a-z]+")),
)

# A quiz-style statement with a blank, "Agents from this federal agency searched ...", asks for a name; the
# words after "this" say what kind (periods like "this week" aside).
CLOZE = re.compile(r"\bthis\s+(?!(?:week|weekend|month|year|season|morning|afternoon|evening|time|spring|"
                   r"summer|autumn|fall|winter)\b)(\w[\w’'-]*(?:\s+[a-z][\w’'-]*){0,3})", re.I)


def asking_part(question: str) -> str:
    """The sentence that asks: the last one of a question led by context ("Frost made history when he
    became the first member of Gen Z elected to Congress. How old is he?"); the whole text otherwise."""
    spans = sentence_spans(question)
    if len(spans) > 1 and question.rstrip().endswith("?"):
        return question[spans[-1][0]:spans[-1][1]]
    return question


_CONJUNCTION_WHEN = re.compile(r"(?<=[a-z,] )(?<!since )(?<!until )when\b")
# "campaigners who disrupted ...", "a career in which he won how many titles?": a "who" right after a noun,
# or a "which" followed by a clause's subject, is a relative pronoun; it asks for nothing.
_RELATIVE = re.compile(r"\b([\w’'-]+) (who|which) ([a-z]+)")
_SUBJECTS = frozenset("he she it they we you i the a an his her its their this these those".split())


def _relative_starts(q: str) -> set[int]:
    """Where `q` (lower case) holds a relative "who"/"which" rather than a question word."""
    starts = set()
    for m in _RELATIVE.finditer(q):
        before, word, after = m.groups()
        if (word == "who" and before not in STOPWORDS) or (word == "which" and after in _SUBJECTS):
            starts.add(m.start(2))
    return starts



def counted_noun(question: str, lexicon: Lexicon) -> str | None:
    """The lexical token of the thing counted in "how many X" / "number of X", or None. It is the head of the
    noun phrase, its last plural before a function word: "asylum applications are pending" counts
    applications, "Grand Slam singles titles" titles. Without a plural ("people attended"), the first word,
    since a verb may follow the noun unmarked."""
    match = re.search(r"\b(?:how many|how much|number of)\s+(.+)", question, re.I)
    if not match:
        return None
    phrase = list(itertools.takewhile(lambda w: w.lower() not in STOPWORDS, _WORD.findall(match.group(1))))
    plurals = [w for w in phrase if w.lower().endswith("s") and not w.lower().endswith("ss")]
    for word in ([plurals[-1]] if plurals else []) + phrase[:1]:
        if tokens := lexical_tokens(word, lexicon):
            return tokens[0]
    tokens = lexical_tokens(match.group(1), lexicon)
    return tokens[0] if tokens else None


def question_kind(question: str) -> str | None:
    """What the question asks for: date, distance, duration, money, percent, number, place, name, reason,
    quote (the words someone said or wrote) or None.
    Read from the asking sentence (`asking_part`): a "when" in the context before it asks nothing."""
    question = asking_part(question)
    q = question.lower()
    # The earliest cue decides ("Where was he when ..." asks for a place); at one spot, the first rule
    # ("how much ... cost" is money before it is a number).
    found = [(m.start(), i, kind) for i, (kind, rule) in enumerate(_KIND_RULES) if (m := rule.search(q))]
    # "She made history when she became the first to hold what position?": a "when" joining two clauses
    # is no question word when another cue asks; nor is a relative pronoun.
    if len(found) > 1:
        not_asking = _relative_starts(q) | {m.start() for m in _CONJUNCTION_WHEN.finditer(q)}
        found = [f for f in found if f[0] not in not_asking] or found
    if found:
        return min(found)[2]
    return "name" if not question.rstrip().endswith("?") and CLOZE.search(question) else None


_SINCE = re.compile(r"\bsince\s+when\b|" + _SINCE_CLOZE, re.I)


def asks_since(question: str) -> bool:
    """Whether the question asks since when ("... for the first time since:", "since when has ..."): its
    answer is the date a sentence compares with ("the first time since 1984"), which other date questions
    pass over."""
    return bool(_SINCE.search(asking_part(question)))


def since_date(text: str, start: int) -> bool:
    """Whether the date expression at `start` is what the text counts from ("since 2006", "since at least
    1950", "since March 2020")."""
    return bool(re.search(r"\bsince(?:\s+at\s+least)?\s+(?:the\s+)?$", text[:start], re.I)
                or re.match(r"since\b", text[start:], re.I))


def event_words(question: str, lexicon: Lexicon) -> set[str]:
    """The question's event words: its lower-case content words ("take", "control", "begin"), as lexical
    tokens. Capitalised words are the names of who and where, not of what happened."""
    lower = " ".join(w for w in re.findall(r"[\w'-]+", question)[1:] if not w[:1].isupper())
    return set(lexical_tokens(lower, lexicon))


_SENTENCE_END = re.compile(r"""[.!?]["'”’)\]]*$|[.!?]\s*\[\d+\]$""")
_CAPTION = re.compile(r"^\s*(?:\(?(?:Photo|Image|Picture|Video|Credit|File photo|Getty Images|AP Photo)\b|"
                      r"[^.]{0,80}\((?:Photo|Image|Credit)[^)]*\)\s*$)", re.I)


def is_quotable(sentence: str) -> bool:
    """False for a headline, a subhead, a caption or a line of site chrome (a line without a sentence's
    closing punctuation, or a photo credit), and for a question. Such lines are never quoted as an answer."""
    text = sentence.strip()
    if text.rstrip("\"'”’)]").endswith("?"):  # a question (a quiz, a rhetorical one) answers nothing
        return False
    return bool(_SENTENCE_END.search(text)) and not _CAPTION.match(text) and len(text.split()) >= 4


# "which major US retailer announced ...", "what color is she": the words naming the kind of thing asked for.
# "what is the name of the category 4 hurricane that ...", "which of these bands": the same words after
# "the name of the" and "of these".
_WHICH = r"which(?:\s+of\s+(?:the\s+following|these|those|the))?"
_NAME_OF = r"\s+(?:is|was)\s+the\s+name\s+of\s+(?:the|this|that|its|his|her|their)"
_TYPE = re.compile(r"\b(?:" + _WHICH + r"|what(?:" + _NAME_OF + r")?)"
                   r"\s+((?:[\w’'&-]+\s+){0,3}?[\w’'&-]+?)"
                   r"(?=['’]s\b|\s+\w+ly\b|\s+" + _AUX + r"\b|\s*[?,.:;]|\s+[a-z]+ed\b|"
                   r"\s+(?:to|in|of|for|on|at|by|from|with|that|this|as|after|before)\b|$)", re.I)


_TYPE_WORD = re.compile(r"\b(?:" + _WHICH + r"|what)\s+([\w-]+)", re.I)  # the one-word fallback: "which of these bands"


def answer_type(question: str) -> str | None:
    """The noun phrase of "which X" / "what X" ("major US retailer", "color") of the asking sentence, or None."""
    question = asking_part(question)
    match = _TYPE.search(question) or _TYPE_WORD.search(question)
    if not match and not question.rstrip().endswith("?"):
        match = CLOZE.search(question)  # "with this 2022 film": a statement with a blank
    if not match:
        return None
    words = _until_verb(match.group(1).split())
    return " ".join(words) if words and words[0].lower() not in STOPWORDS else None


def place_noun(question: str) -> str | None:
    """The kind of place an "in which state ...?" question asks for ("state"), or None. Read from the words
    the place rule matched, not from `answer_type`, whose phrase runs on into a verb it does not know
    ("state struck down")."""
    match = re.search(_IN_WHICH, asking_part(question), re.I)
    return match.group(1).lower() if match else None


def _until_verb(words: list[str]) -> list[str]:
    """The words before the first stop word or past-tense verb ("football star announced his" -> 2)."""
    for i, word in enumerate(words):
        if i and (word.lower() in STOPWORDS or word.lower().endswith("ed")):
            return words[:i]
    return words


@dataclass
class Candidate:
    """One sentence of one passage, scored."""

    passage: Passage
    start: int  # offsets within the passage text
    end: int
    score: float
    lexical: float
    dense: float

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]

    def previous_sentence(self) -> str:
        """The sentence before this one in its passage ("" for the first): where "he" is named."""
        before = [(s, e) for s, e in sentence_spans(self.passage.text) if e <= self.start]
        return self.passage.text[before[-1][0]:before[-1][1]] if before else ""


SpanVectors = dict[tuple[int, int], np.ndarray]  # a chunk's sentence spans -> unit vectors
StoredVectors = Callable[[list[str]], dict[str, SpanVectors]]  # chunk ids -> their stored sentence vectors


class SentenceScorer:
    """Scores sentences against a question. Thread-safe.

    Sentence vectors come from the index when `stored` is given (computed at ingest in the same model pass
    as the chunk's vector); any sentence without one is embedded here and cached, since passages recur.
    """

    def __init__(self, embedder: Embedder, lexicon: Lexicon, config: AnswerConfig,
                 cache_size: int = 50_000, stored: StoredVectors | None = None) -> None:
        self.embedder = embedder
        self.lexicon = lexicon
        self.config = config
        self.cache_size = cache_size
        self.stored = stored
        self._vectors: dict[str, np.ndarray] = {}  # sentence text -> unit vector
        self._terms: dict[str, tuple[set[str], set[str]]] = {}  # question -> (its tokens, its event words)
        self._lock = threading.Lock()

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every quotable sentence of the passages, best supported first."""
        spans = _unique_sentences(passages)
        if not spans:
            return []
        c = self.config
        q_tokens = set(lexical_tokens(question, self.lexicon))
        idf = _idf([set(lexical_tokens(p.text[s:e], self.lexicon)) for p, s, e in spans])
        vectors = self._sentence_vectors(spans)
        q_vec = self._question_vector(question)
        kind = question_kind(question)
        focus = self.focus(question)
        out = []
        previous: tuple[str, set[str], str] = ("", set(), "")
        for (passage, s, e), vec in zip(spans, vectors, strict=True):
            text = passage.text[s:e]
            tokens = set(lexical_tokens(text, self.lexicon))
            # A sentence often names its subject only in the sentence before ("A day later, on November 30,
            # the second largest city ... came under the control"): lend it part of that context.
            same_doc = previous[0] == passage.doc_id
            context, before = (previous[1], previous[2]) if same_doc else (set(), "")
            previous = (passage.doc_id, tokens, text)
            if not is_quotable(text):
                continue
            lexical = max(_coverage(q_tokens, tokens, idf),
                          c.context_discount * _coverage(q_tokens, tokens | context, idf))
            dense = float(np.asarray(vec) @ q_vec)
            score = (c.lexical_weight * lexical + c.dense_weight * dense
                     + self._kind_bonus(kind, text, question, tokens, before)
                     - (c.focus_penalty if focus and focus not in tokens else 0.0)
                     - c.rank_penalty * (passage.number - 1))
            out.append(Candidate(passage, s, e, score, lexical, dense))
        return sorted(out, key=lambda cand: -cand.score)

    def _question_vector(self, question: str) -> np.ndarray:
        """The question's unit vector for the dense side. A question led by context ("A zodiac coin was
        found off Israel's coast. What sign did it bear?") is mostly context to an embedding, which then
        favours the sentence restating it; its asking sentence gets `asking_share` of the vector."""
        vec = np.asarray(self.embedder.get_query_embedding(self.lexicon.expand(question)))
        asking = asking_part(question)
        share = self.config.asking_share
        if not share or asking == question:
            return vec
        asked = np.asarray(self.embedder.get_query_embedding(self.lexicon.expand(asking)))
        mixed = (1.0 - share) * vec + share * asked
        return mixed / float(np.linalg.norm(mixed))

    def focus(self, question: str) -> str | None:
        """The thing counted in "how many X" / "number of X": a sentence without X cannot answer it."""
        return counted_noun(question, self.lexicon)

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Unit vectors of `texts` (cached like the sentences'): the answerer compares answer names with
        the kind of thing a question asks for."""
        return self._embed(texts)

    def _question_terms(self, question: str) -> tuple[set[str], set[str]]:
        """The question's lexical tokens and event words, worked out once per question, not per sentence."""
        found = self._terms.get(question)
        if found is None:
            found = (set(lexical_tokens(question, self.lexicon)), event_words(question, self.lexicon))
            if len(self._terms) >= 256:
                self._terms.clear()
            self._terms[question] = found
        return found

    def _kind_bonus(self, kind: str | None, text: str, question: str, tokens: set[str] | None = None,
                    before: str = "") -> float:
        """Reward sentences holding what the question asks for; a day beats a bare year for "when".
        `tokens`: the sentence's lexical tokens, when the caller has them; `before`: the sentence before it
        in its article, whose bare figure a "That's the number of ..." sentence holds (`referred_figure`)."""
        c = self.config
        if kind is None:
            return 0.0
        asked, events = self._question_terms(question)
        if kind == "date" and asks_since(question):  # only a "since ..." date answers "since when"
            return c.kind_bonus if any(since_date(text, m.start()) for m in PATTERNS[kind].finditer(text)) \
                else -c.date_penalty
        if kind == "name":  # a name the question does not already hold
            matches = [n for _, n in proper_names(text) if not set(lexical_tokens(n, self.lexicon)) <= asked]
        elif kind in FIGURES:  # a figure of another year or period does not count
            matches = [m.group(0) for m in figures_for(text, PATTERNS[kind], question)]
            referred = None if matches else referred_figure(text, before, PATTERNS[kind])
            matches = matches or ([referred] if referred else [])
        elif kind == "place":  # "withdrew from Hama" does not say where, when the question names Hama
            matches = [m.group(0) for m in PATTERNS[kind].finditer(text)
                       if not set(lexical_tokens(m.group(0), self.lexicon)) <= asked]
        else:
            matches = [m.group(0) for m in PATTERNS[kind].finditer(text)
                       if kind != "date" or not is_comparison_point(text, m.start())]
        if kind == "date":  # news dates events to the day, unless the question asks for a year or month
            if not matches:
                return -c.date_penalty
            # "On Wednesday, Moscow reported ..." for "When did Russia broker the ceasefire?": a sentence
            # without any of the question's event words dates something else that happened.
            if tokens is None:
                tokens = set(lexical_tokens(text, self.lexicon))
            if events and not events & tokens:
                return c.date_off_event_bonus
            coarse_asked = re.search(r"\b(?:year|month|decade|century)\b", question, re.I)
            return c.kind_bonus if coarse_asked or _DAY.search(text) else c.kind_weak_bonus
        if kind == "reason":  # "aims “to preserve the lives of civilians”": the quote marks are no break
            matches = [m.group(0) for m in PATTERNS[kind].finditer(_QUOTES.sub("", text))]
        if kind in ("place", "reason", "quote"):  # softer: these patterns only hint
            return c.hint_bonus if matches else 0.0
        # A "who"/"how many"/"how far" question is not answered by a sentence without a name/number/distance.
        return c.kind_bonus if matches else -c.kind_penalty

    def _sentence_vectors(self, spans: list[tuple[Passage, int, int]]) -> list[np.ndarray]:
        """One unit vector per sentence span: the index's where it has one, else embedded here."""
        stored = self.stored([p.node.node_id for p in {id(p): p for p, _, _ in spans}.values()]) \
            if self.stored else {}
        found: list[np.ndarray | None] = [stored.get(p.node.node_id, {}).get((s, e)) for p, s, e in spans]
        missing = [i for i, vec in enumerate(found) if vec is None]
        if missing and isinstance(self.embedder, SpanEmbedder):
            # The same kind of vector as the index keeps (min_support is calibrated on those): the sentence
            # read in its passage. For an index built before they were kept, or a chunk whose sentences
            # its title pushed past the model's 256 tokens.
            for i, vec in zip(missing, self._in_context([spans[i] for i in missing]), strict=True):
                found[i] = vec
            missing = [i for i, vec in enumerate(found) if vec is None]
        if missing:
            for i, vec in zip(missing, self._embed([spans[i][0].text[spans[i][1]:spans[i][2]] for i in missing]),
                              strict=True):
                found[i] = vec
        return [vec for vec in found if vec is not None]

    def _in_context(self, spans: list[tuple[Passage, int, int]]) -> list[np.ndarray | None]:
        """Vectors of sentence spans read in their passage's text (cached; None where truncation cut one)."""
        keys = [f"\x00{p.node.node_id}:{s}:{e}" for p, s, e in spans]  # no sentence text starts with NUL
        with self._lock:
            found: dict[str, np.ndarray | None] = {k: self._vectors[k] for k in keys if k in self._vectors}
        todo: dict[str, tuple[Passage, list[tuple[int, int]], list[str]]] = {}
        for key, (p, s, e) in zip(keys, spans, strict=True):
            if key not in found:
                entry = todo.setdefault(p.node.node_id, (p, [], []))
                entry[1].append((s, e))
                entry[2].append(key)
        if todo:
            groups = list(todo.values())
            assert isinstance(self.embedder, SpanEmbedder)
            _, vectors = self.embedder.embed_with_spans([p.text for p, _, _ in groups], [sp for _, sp, _ in groups])
            fresh = {key: vec for (_, _, ks), vecs in zip(groups, vectors, strict=True)
                     for key, vec in zip(ks, vecs, strict=True) if vec.any()}
            found.update(fresh)
            with self._lock:
                if len(self._vectors) + len(fresh) > self.cache_size:
                    self._vectors.clear()
                self._vectors.update(fresh)
        return [found.get(k) for k in keys]

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        # The cache is shared by every thread answering; it is read and written under the lock, and the
        # embedding itself runs outside it, so concurrent questions embed in parallel.
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = {text: np.asarray(vec, dtype=np.float32)
                     for text, vec in zip(missing, self.embedder.get_text_embedding_batch(missing), strict=True)}
            found.update(fresh)
            with self._lock:
                if len(self._vectors) + len(fresh) > self.cache_size:
                    self._vectors.clear()  # a crude bound: corpora this large re-embed on demand
                self._vectors.update(fresh)
        return [found[t] for t in texts]


def _unique_sentences(passages: list[Passage]) -> list[tuple[Passage, int, int]]:
    # Overlapping chunks repeat sentences; keep each article sentence once, in its best-ranked passage.
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        for s, e in sentence_spans(p.text):
            key = (p.doc_id, p.start + s)
            if key not in seen:
                seen.add(key)
                out.append((p, s, e))
    return out


def _idf(sentences: list[set[str]]) -> dict[str, float]:
    n = len(sentences)
    df: dict[str, int] = {}
    for tokens in sentences:
        for t in tokens:
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + n / c) for t, c in df.items()}


def _coverage(question: set[str], sentence: set[str], idf: dict[str, float]) -> float:
    """Share of the question's (idf-weighted) content words that the sentence contains."""
    if not question:
        return 0.0
    unseen = math.log(1 + len(idf) or 2)  # words absent from every passage weigh the most
    total = sum(idf.get(t, unseen) for t in question) or 1.0
    return sum(idf.get(t, unseen) for t in question & sentence) / total


_QUOTES = re.compile(r"[\"“”‘]")
_DAY = re.compile(rf"{MONTH}\.? \d{{1,2}}\b|\b\d{{1,2}} {MONTH}|\b{WEEKDAY}\b|yesterday|today", re.I)
