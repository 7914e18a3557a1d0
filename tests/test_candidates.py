"""Answer redundancy and answer types (rag.answer.candidates): pure logic over hand-made sentences."""

from __future__ import annotations

from rag.answer.candidates import (
    add_peoples,
    lead_with_winner,
    mark_apposition,
    name_candidates,
    people_places,
    rescore,
    weigh,
)
from rag.models import Chunk, Passage
from rag.retrieve.rerank import Candidate, answer_type, question_kind
from rag.settings import AnswerConfig
from rag.text.lexicon import Lexicon

NONE = Lexicon()
CONFIG = AnswerConfig(redundancy_temperature=0.1)


def _sentence(text: str, doc: str, score: float) -> Candidate:
    passage = Passage(node=Chunk(text=text, metadata={"doc_id": doc}), score=1.0, number=1)
    return Candidate(passage, 0, len(text), score, 0.5, 0.5)


QUESTION = "Which social media platform is Ye acquiring?"
RANKED = [
    # Restates the question, with a name the question lacks that is not the answer.
    _sentence("Ye is acquiring the social media platform after being removed from Twitter.", "a.txt", 0.70),
    _sentence("Ye agreed to buy Parler, the company said on Monday.", "a.txt", 0.66),
    _sentence("The deal for Parler is expected to close soon.", "b.txt", 0.65),
    _sentence("Parler's owner confirmed the talks with Ye.", "c.txt", 0.64),
    _sentence("Investigations are underway into the deal.", "d.txt", 0.63),
]


def test_names_the_question_lacks_vote_once_per_article() -> None:
    answers = {a.name: a for a in name_candidates(QUESTION, RANKED, NONE, CONFIG)}
    assert "Ye" not in answers  # the question's own name is no answer
    assert "Investigations" not in answers  # capitalised only by its place in the sentence
    # Parler is held by three articles, Twitter by one (a's sentences count once, at the better one).
    assert answers["Parler"].support > 1.5 * answers["Twitter"].support
    assert answers["Twitter"].support == 1.0


def test_the_best_supported_answer_lifts_its_sentence_above_a_restatement() -> None:
    answers = weigh(name_candidates(QUESTION, RANKED, NONE, CONFIG), CONFIG)
    assert answers[0].name == "Parler"
    order = rescore(RANKED, answers, NONE, CONFIG)
    assert "Parler" in order[0][1].text and order[0][2] is answers[0]


def test_the_kind_asked_for_outweighs_a_bare_count_of_votes() -> None:
    answers = name_candidates(QUESTION, RANKED, NONE, CONFIG)
    for answer in answers:  # what an embedder would say about "social media platform"
        answer.fit = 0.6 if answer.name == "Twitter" else 0.1
    assert weigh(answers, CONFIG)[0].name == "Twitter"


def test_a_fuller_form_of_a_name_is_shown() -> None:
    ranked = [_sentence("JetBlue agreed to buy the carrier.", "a.txt", 0.7),
              _sentence("The buyer, JetBlue Airways, said the deal would close.", "b.txt", 0.6)]
    names = [a.name for a in name_candidates("Which airline agreed to buy the carrier?", ranked, NONE, CONFIG)]
    assert "JetBlue Airways" in names


def test_answer_type_is_the_noun_phrase_after_which_or_what() -> None:
    assert answer_type("Which major US retailer announced this week it is slashing prices?") == "major US retailer"
    assert answer_type("What color is she?") == "color"
    assert answer_type("Which currency recently plummeted to a record low?") == "currency"
    assert answer_type("Which country’s lawmakers urged officials to show no leniency?") == "country"
    assert answer_type("Who won the Hart Trophy?") is None
    assert answer_type("What is the name of the category 4 hurricane that hit Florida?") == "category 4 hurricane"
    assert answer_type("Which of these bands announced this week they would reunite?") == "bands"
    from rag.retrieve.rerank import place_noun
    assert place_noun("Voters in which state struck down an amendment?") == "state"  # not "state struck down"
    assert place_noun("Which state struck down an amendment?") is None


def test_a_statement_with_a_blank_asks_for_a_name_of_the_kind_after_this() -> None:
    question = "Agents from this federal law enforcement agency searched the former president's home."
    assert question_kind(question) == "name"
    assert answer_type(question) == "federal law enforcement agency"
    assert answer_type("This football star announced his retirement in February.") == "football star"
    # A period is no blank, and a question is read by its question word.
    assert question_kind("The storm hit the coast this week.") is None
    assert question_kind("How many people attended this concert?") == "number"


def test_the_kind_is_read_from_the_sentence_that_asks() -> None:
    from rag.retrieve.rerank import asking_part

    question = ("Ketanji Brown Jackson made history when she became the first Black woman on the court. "
                "What position does she hold?")
    assert asking_part(question) == "What position does she hold?"
    assert question_kind(question) == "name"  # not "date": the "when" is context
    assert answer_type(question) == "position"
    assert question_kind("When did the army leave Hama?") == "date"
    # A "when" joining two clauses yields to the cue that asks; alone, it still asks for a date.
    assert question_kind("She made history when she became the first woman to hold what position?") == "name"
    assert question_kind("What happened when the storm hit?") == "date"
    assert question_kind("What did he say when asked?") == "quote"
    assert question_kind("Since when has he led it?") == "date"
    # So does a relative pronoun: "who" right after a noun, "which" before a clause's subject.
    assert question_kind("After a career in which he won how many titles did she retire?") == "number"
    assert question_kind("Fans who queued all night bought how many tickets?") == "number"
    assert question_kind("In which city did he live?") == "place"
    assert question_kind("He denied an affair with who?") == "name"
    # A name asked for by "name"/"called", a place by a trailing "where?", an age by "how old".
    assert question_kind("A storm hit the coast this week. What was its name?") == "name"
    assert question_kind("What is the show called?") == "name"
    assert question_kind("The rocket launched from where?") == "place"
    assert question_kind("How old is he?") == "number"
    assert question_kind("What does the name mean?") is None  # a meaning, not a name
    # A statement is read whole, as is a single question.
    assert asking_part("The storm hit. It was big.") == "The storm hit. It was big."


def test_a_word_capitalised_after_a_colon_is_no_answer_name() -> None:
    ranked = [_sentence("The Colts made two moves on Monday: First, they fired their coach.", "a.txt", 0.7),
              _sentence("Later, they named Jeff Reed as his interim replacement.", "a.txt", 0.6)]
    names = [a.name for a in name_candidates("Which legend did the Colts hire?", ranked, NONE, CONFIG)]
    assert "First" not in names and "Jeff Reed" in names


def test_a_who_question_weighs_its_answers_against_a_person() -> None:
    import numpy as np

    from rag.answer.extractive import ExtractiveGenerator

    class Scorer:  # what an embedder says: people sit near "person", a carmaker does not
        lexicon, config = NONE, AnswerConfig()
        asked: list[str] = []

        def vectors(self, texts: list[str]) -> list[np.ndarray]:
            self.asked.extend(texts)
            return [np.array([1.0, 0.0]) if t in ("person", "Bernard Arnault") else np.array([0.0, 1.0])
                    for t in texts]

    ranked = [_sentence("Bernard Arnault overtook the Tesla boss.", "a.txt", 0.70),
              _sentence("Tesla shares fell, pushing its boss down the list.", "b.txt", 0.69),
              _sentence("Tesla sales slowed in China.", "c.txt", 0.68)]
    generator = ExtractiveGenerator(Scorer())  # type: ignore[arg-type]
    _, winner = generator._by_redundancy("Who is now the world's richest man?", ranked)
    assert Scorer.asked[0] == "person"
    assert winner is not None and winner.name == "Bernard Arnault"  # Tesla has more votes, not the kind


def test_a_name_the_articles_call_an_x_multiplies_its_votes_for_which_x() -> None:
    """"the zodiac sign Cancer" / "Parler, the social media platform": apposition with the head noun of the
    kind asked for marks the name as one; its votes count more, but a passing typed mention does not win."""
    ranked = [
        _sentence("The coin was found off the coastal city Haifa by divers.", "a.txt", 0.86),
        _sentence("Divers brought the coin to Haifa on Monday.", "b.txt", 0.80),
        _sentence("The coin bears the image of the zodiac sign Cancer behind the moon goddess.", "c.txt", 0.79),
        _sentence("Experts in Haifa said the coin was minted in Alexandria.", "d.txt", 0.40),
    ]
    config = AnswerConfig(redundancy_temperature=0.1, type_weight=0.0, apposition_weight=3.0)
    answers = name_candidates("What sign did the coin bear?", ranked, NONE, config)
    mark_apposition(answers, ranked, "sign", config)
    typed = {a.name: a.typed for a in answers}
    assert typed["Cancer"] and not typed["Haifa"] and not typed["Alexandria"]
    assert weigh(answers, config)[0].name == "Cancer"
    assert weigh(answers, AnswerConfig(redundancy_temperature=0.1, type_weight=0.0, apposition_weight=0.0)
                 )[0].name == "Haifa"  # without the cue, Haifa's two outlets win

    after = [_sentence("Ye agreed to buy Parler, the conservative social media platform, on Monday.", "a.txt", 0.7)]
    answers = name_candidates(QUESTION, after, NONE, config)
    mark_apposition(answers, after, "social media platform", config)
    assert [a.name for a in answers if a.typed] == ["Parler"]

    # A typed name far down the pool barely votes: the answer every outlet gives still wins.
    many = [_sentence(f"Users could not reach Twitter on Wednesday, outlet {i} said.", f"{i}.txt", 0.8)
            for i in range(4)] + [_sentence("Data came from the social media platform CrowdTangle.", "x.txt", 0.5)]
    answers = name_candidates("Users could not reach which social media platform?", many, NONE, config)
    mark_apposition(answers, many, "social media platform", config)
    assert {a.name for a in answers if a.typed} == {"CrowdTangle"}
    assert weigh(answers, config)[0].name == "Twitter"


def test_a_people_word_may_stand_for_its_place_read_from_the_spelling() -> None:
    from rag.text.names import derives_from

    for word, place in [("Cuban", "Cuba"), ("Cubans", "Cuba"), ("Iranian", "Iran"), ("Chinese", "China"),
                        ("Ukrainians", "Ukraine"), ("German", "Germany"), ("Mexican", "Mexico"), ("Iraqi", "Iraq")]:
        assert derives_from(word, place), (word, place)
    for word, place in [("Iraqi", "Iran"), ("Iran", "Iraq"), ("Cuba", "Cuba"), ("Texan", "Texas"),
                        ("Spanish", "Spain")]:  # Spain -> Spanish changes the stem: missed, not guessed
        assert not derives_from(word, place), (word, place)


def test_people_words_vote_for_the_place_only_where_the_caller_lets_them() -> None:
    """"Iranian lawmakers urged ..." holds Iran, which another passage names; `add_peoples` is given the
    places the caller accepts (the answerer: those close to the asked-for noun), and only those gain."""
    ranked = [
        _sentence("Iranian lawmakers urged the judiciary to show no leniency, Press TV said.", "a.txt", 0.80),
        _sentence("Iranian officials repeated the call on Monday.", "b.txt", 0.78),
        _sentence("Protests spread across Iran after the death of a young woman.", "c.txt", 0.50),
    ]
    question = "Which country's lawmakers urged officials to show no leniency?"
    places = people_places(question, ranked, NONE, CONFIG)
    assert places == {"Iran": {"Iranian"}}
    before = {a.name: a.support for a in name_candidates(question, ranked, NONE, CONFIG)}
    answers = {a.name: a for a in add_peoples(name_candidates(question, ranked, NONE, CONFIG), places, ranked,
                                               NONE, CONFIG)}
    assert answers["Iran"].support > 1.5 * before["Iran"] and answers["Iran"].support > answers["Press TV"].support
    unchanged = add_peoples(name_candidates(question, ranked, NONE, CONFIG), {}, ranked, NONE, CONFIG)
    assert {a.name: a.support for a in unchanged} == before


def test_a_people_word_that_is_itself_a_candidate_gives_way_to_its_better_fitting_place() -> None:
    """"Cuban legislators ..." for "which nation": the people word is a name candidate of its own, and the
    place the articles name fits "nation" better, though below `people_fit`: the answer is Cuba, not "Cuban"."""
    import numpy as np

    from rag.answer.extractive import ExtractiveGenerator

    fits = {"nation": 1.0, "Cuba": 0.4, "Cuban": 0.2, "Ireland": 0.45}

    class Scorer:  # what an embedder says: a place fits "nation" better than its people's adjective
        lexicon, config = NONE, AnswerConfig()

        def vectors(self, texts: list[str]) -> list[np.ndarray]:
            out = []
            for t in texts:
                f = fits.get(t, 0.1)
                out.append(np.array([f, (1.0 - f * f) ** 0.5]))
            return out

    ranked = [_sentence("On Sunday Cuban voters approved the new family code in a referendum.", "a.txt", 0.70),
              _sentence("The code passed with 67% of the vote, Cuban officials said.", "b.txt", 0.69),
              _sentence("In 2015 Ireland voted in a referendum.", "c.txt", 0.60),
              _sentence("The vote in Cuba was held on Sunday.", "d.txt", 0.40)]
    generator = ExtractiveGenerator(Scorer())  # type: ignore[arg-type]
    _, winner = generator._by_redundancy("Which nation legalized same-sex marriage in a referendum?", ranked)
    assert winner is not None and winner.name == "Cuba"
    fits["Cuba"] = 0.1  # a place that fits no better than the people word stands for nothing
    _, winner = generator._by_redundancy("Which nation legalized same-sex marriage in a referendum?", ranked)
    assert winner is not None and winner.name != "Cuba"


def test_an_answer_says_its_plain_form_when_that_fits_the_kind_clearly_better() -> None:
    """"Royal Bahamas Police Force" is a fuller name holding Bahamas, but another thing: for "which country"
    the answer says "Bahamas"; "JetBlue Airways" stays whole for "which airline"."""
    import numpy as np

    from rag.answer.extractive import ExtractiveGenerator

    fits = {"country": 1.0, "Bahamas": 0.55, "Royal Bahamas Police Force": 0.25,
            "airline": 1.0, "JetBlue Airways": 0.7, "JetBlue": 0.4}

    class Scorer:
        lexicon, config = NONE, AnswerConfig()

        def vectors(self, texts: list[str]) -> list[np.ndarray]:
            return [np.array([fits.get(t, 0.1), (1.0 - fits.get(t, 0.1) ** 2) ** 0.5]) for t in texts]

    generator = ExtractiveGenerator(Scorer())  # type: ignore[arg-type]
    ranked = [_sentence("He was arrested in the Bahamas on Monday night.", "a.txt", 0.70),
              _sentence("He was taken into custody by the Royal Bahamas Police Force, officials said.", "b.txt", 0.69),
              _sentence("Officials in the Bahamas confirmed the arrest.", "c.txt", 0.68)]
    _, winner = generator._by_redundancy("In which country was the former executive arrested?", ranked)
    assert winner is not None and winner.name == "Royal Bahamas Police Force" and winner.label == "Bahamas"
    ranked = [_sentence("On Monday JetBlue said it would add flights.", "a.txt", 0.70),
              _sentence("Travellers ranked JetBlue Airways first, the survey said.", "b.txt", 0.69)]
    _, winner = generator._by_redundancy("Which airline topped the survey?", ranked)
    assert winner is not None and winner.label == "JetBlue Airways"


def test_in_which_state_reads_its_short_answer_from_the_names_voting() -> None:
    """"In which state ...?" asks for a place of a named kind: the quoted sentence stays the best one, and
    its short answer is the name the articles agree on and that fits "state", not the first name after
    "in" ("U.S. history")."""
    import numpy as np

    from rag.answer.extractive import ExtractiveGenerator

    fits = {"state": 1.0, "New York": 0.6, "U.S": 0.35, "Minnesota": 0.6}
    ranked = [_sentence("The 2,560-pound pumpkin grown in New York is the heaviest in U.S. history.", "a.txt", 0.70),
              _sentence("The grower from New York weighed it on Sunday, organisers said.", "b.txt", 0.66),
              _sentence("The record in U.S. history had stood since 2021.", "c.txt", 0.65),
              _sentence("Last year the heaviest came from Minnesota, officials said.", "d.txt", 0.50)]

    class Scorer:
        lexicon, config = NONE, AnswerConfig()

        def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
            return ranked

        def focus(self, question: str) -> None:
            return None

        def vectors(self, texts: list[str]) -> list[np.ndarray]:
            return [np.array([fits.get(t, 0.1), (1.0 - fits.get(t, 0.1) ** 2) ** 0.5]) for t in texts]

    answer = ExtractiveGenerator(Scorer()).answer(  # type: ignore[arg-type]
        "A pumpkin in which state set a new record as the heaviest in US history?", [])
    assert answer.short == "New York"
    assert answer.citations[0].quote == ranked[0].text


def _headed(text: str, doc: str, score: float, title: str) -> Candidate:
    passage = Passage(node=Chunk(text=text, metadata={"doc_id": doc, "title": title}), score=1.0, number=1)
    return Candidate(passage, 0, len(text), score, 0.5, 0.5)


def test_a_name_in_an_articles_headline_gets_that_articles_vote() -> None:
    question = "Which state will hold a runoff for its Senate seat?"
    ranked = [_headed("Neither candidate cleared the threshold, forcing a runoff for Herschel Walker.", "a.txt",
                      0.7, "Georgia Senate race heads to a runoff"),
              _headed("In Georgia, the candidate with the most votes wins the runoff.", "b.txt", 0.6, "Explainer"),
              _headed("Herschel Walker trails in the polls.", "c.txt", 0.55, "Runoff set in Senate race")]
    voted = {a.name: a.support for a in name_candidates(question, ranked, NONE, CONFIG)}
    plain = {a.name: a.support for a in name_candidates(question, ranked, NONE,
                                                         AnswerConfig(redundancy_temperature=0.1, headline_vote=0.0))}
    assert plain["Herschel Walker"] > plain["Georgia"]  # two articles name Walker, one names Georgia
    assert voted["Georgia"] > voted["Herschel Walker"]  # article a's headline says its story is about Georgia
    assert voted["Georgia"] == plain["Georgia"] + 1.0  # a's vote, at its best sentence's weight


def test_the_best_valued_answer_leads_when_the_top_sentence_holds_a_much_weaker_one() -> None:
    question = "At which awards show did the actor slap the comedian?"
    ranked = [_sentence("The actor slapped the comedian, a former Comedy Central star, on stage.", "a.txt", 0.72),
              _sentence("The actor slapped the comedian at the Oscars.", "b.txt", 0.64),
              _sentence("The Oscars telecast went on after the slap.", "c.txt", 0.62),
              _sentence("Millions saw the slap at the Oscars live.", "d.txt", 0.60)]
    answers = weigh(name_candidates(question, ranked, NONE, CONFIG), CONFIG)
    for answer in answers:  # what an embedder would say about "awards show"
        answer.fit = 0.66 if answer.name == "Oscars" else 0.35
    answers = weigh(answers, CONFIG)
    order = rescore(ranked, answers, NONE, CONFIG)
    assert order[0][2].name == "Comedy Central"  # the capped lift leaves the restatement first
    led = lead_with_winner(order, answers, margin=0.8)
    assert led[0][2] is answers[0] and answers[0].name == "Oscars"
    assert sorted(id(c) for _, c, _ in led) == sorted(id(c) for _, c, _ in order)  # only the order changed
    assert lead_with_winner(order, answers, margin=0.0) == order  # off
    assert lead_with_winner(order, answers, margin=answers[0].value) == order  # the gap is under the margin
