"""Short answers and entity naming (rag.answer.short), headline filtering (rag.retrieve.rerank.is_quotable).

Pure logic over hand-made passages: these test our own reading of a sentence, not a library.
"""

from __future__ import annotations

from rag.answer.short import figure, named_answer, named_referent, short_answer
from rag.models import Answer, Chunk, Passage
from rag.retrieve.rerank import PATTERNS, Candidate, counted_noun, is_quotable, question_kind
from rag.text.lexicon import Lexicon
from rag.text.names import proper_names

NONE = Lexicon()


def _candidate(text: str, sentence: str, published: str | None = None) -> Candidate:
    meta = {"doc_id": "a.txt"} | ({"published": published} if published else {})
    passage = Passage(node=Chunk(text=text, metadata=meta), score=1.0, number=1)
    start = text.index(sentence)
    return Candidate(passage, start, start + len(sentence), 1.0, 1.0, 1.0)


def _short(question: str, text: str, sentence: str | None = None, published: str | None = None) -> str | None:
    cand = _candidate(text, sentence or text, published)
    return short_answer(cand, question_kind(question), question, NONE)


def test_how_much_did_it_cost_wants_money_not_the_first_number() -> None:
    text = "Two crews worked through the night. The bridge repair cost $48 million, the city said."
    assert question_kind("how much did the bridge repair cost?") == "money"
    assert question_kind("He signed a 9-year contract worth how much?") == "money"  # the verb before "how much"
    assert question_kind("The average gas price fell below what price?") == "money"
    assert question_kind("Prices rose by how much?") == "amount"
    assert _short("how much did the bridge repair cost?", text, text.split(". ")[1]) == "$48 million"
    assert figure("It paid 19 million dollars for the lunch.", PATTERNS["money"], "how much", None, NONE) \
        == "19 million dollars"


def test_how_much_is_an_amount_money_or_a_percentage_before_a_count() -> None:
    assert question_kind("How much is the combo?") == "amount"
    assert question_kind("How many people came?") == "number"
    assert question_kind("How much money did it raise?") == "money"
    assert question_kind("What age was she?") == question_kind("What is his age?") == "number"
    assert question_kind("Vaccinations began for which age group?") == "name"
    assert question_kind("What is the age range?") != "number"  # a range, not an age
    # A change in prices is a percentage as often as money: the change verb decides, not "prices".
    assert question_kind("How much have egg prices increased over the past year?") == "amount"
    assert _short("How much is the combo?", "For 2 items, the combo costs $1.50 at 40 stores.") == "$1.50"
    assert _short("How much did cafe prices rise?", "Cafe owners said prices rose 12 percent this year.") \
        == "12 percent"
    assert _short("How much plastic is recycled?", "Only 9% of plastic is recycled, the agency said.") == "9%"
    # No money or percentage: the count, with its noun.
    assert _short("His tally rose to how much?", "His tally rose to 22 titles on Sunday.") == "22 titles"


def test_a_count_comes_with_its_noun_and_belongs_to_the_time_asked_about() -> None:
    text = "About 52,000 people attended the festival, up from 40,000 last year."
    assert _short("how many people attended the festival?", text) == "52,000 people"
    text = "This year 61,000 visitors came; last year 40,000 visitors came."
    assert _short("how many visitors came?", text) == "61,000 visitors"
    text = "The show drew 3 million viewers in 2022, while in 2021 it drew 2 million viewers."
    assert _short("How many viewers did the show draw in 2021?", text) == "2 million viewers"


def test_percentages_and_distances_keep_their_units() -> None:
    assert _short("What percentage of voters backed the measure?",
                  "The measure passed with 58.6% of the vote on Tuesday.") == "58.6%"
    assert _short("How far is Hama from Homs?", "Hama lies about 50 kilometers from Homs.") == "50 kilometers"


def test_a_date_is_read_against_the_dateline() -> None:
    assert _short("When did the strike begin?", "Workers began the strike yesterday, the union said.",
                  published="2022-06-24") == "23 June 2022 (“yesterday” in the article dated 24 June 2022)"


def test_a_name_the_question_does_not_already_hold() -> None:
    text = "A jury found Bill Cosby liable for sexually abusing a teenager at the Playboy Mansion in 1975."
    assert _short("Which embattled celebrity was found liable in a sexual battery case?", text) == "Bill Cosby"
    text = "Iran has warned Assad that its help will be limited, the Wall Street Journal reported on Monday."
    assert _short("Which newspaper reported that Iran warned Assad?", text) == "Wall Street Journal"


def test_he_and_the_retailer_are_named_from_the_sentence_before() -> None:
    text = "Walmart cut its profit forecast on Monday. The retailer said shoppers were spending less on clothes."
    second = text.split(". ")[1]
    cand = _candidate(text, second)
    assert named_referent(second, cand.previous_sentence()) == "Walmart"
    assert named_answer(cand, "Which retailer said shoppers were spending less?", NONE) == "Walmart"
    text = "Tom Brady announced his retirement on Tuesday. He said he was leaving for good."
    assert named_referent("He said he was leaving for good.", text.split(". ")[0]) == "Tom Brady"
    # A sentence that names its own subject needs no help.
    assert named_referent("Target said sales fell.", "Walmart cut its forecast.") is None


def test_names_skip_sentence_initial_words_and_lone_demonyms() -> None:
    names = [n for _, n in proper_names("However, Syrian forces met Abu al-Qaqaa near the Bank of America tower.")]
    assert names == ["Abu al-Qaqaa", "Bank of America"]


def test_headlines_captions_and_chrome_are_not_quotable() -> None:
    assert not is_quotable("Two killed as bridge collapses in storm")
    assert not is_quotable("(Photo: Reuters/John Smith)")
    assert not is_quotable("Read more")
    assert is_quotable("The bridge repair cost $48 million, the city said.")
    assert is_quotable("“We will consider the request,” the minister said.”")


def test_short_answer_is_part_of_the_public_json() -> None:
    answer = Answer(question="q", text="$48 million: “...” [1]", kind="answer", short="$48 million")
    assert answer.to_dict()["short"] == "$48 million"
    assert Answer(question="q", text="The articles don't say.", kind="refusal").to_dict()["short"] is None


def test_a_place_the_question_names_is_no_hint_of_where() -> None:
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig

    scorer = SentenceScorer(None, NONE, AnswerConfig())  # type: ignore[arg-type]  # _kind_bonus embeds nothing
    question = "Where did the command post its announcement that it was leaving Hama?"
    assert scorer._kind_bonus("place", "The army has declared its withdrawal from Hama.", question) == 0.0
    assert scorer._kind_bonus("place", "The command said in Damascus that it had left.", question) > 0.0


def test_a_reason_inside_quote_marks_is_still_a_reason() -> None:
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig

    scorer = SentenceScorer(None, NONE, AnswerConfig())  # type: ignore[arg-type]
    question = "Why did the army pull its units out of Hama?"
    quoted = "The statement said the decision aims “to preserve the lives of civilians” in the city."
    assert scorer._kind_bonus("reason", quoted, question) > 0.0
    assert scorer._kind_bonus("reason", "The army pulled its units out of Hama on Thursday.", question) == 0.0


def test_a_date_without_the_questions_event_dates_something_else() -> None:
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig

    config = AnswerConfig()
    scorer = SentenceScorer(None, NONE, config)  # type: ignore[arg-type]
    question = "When did Russia and Turkey broker the ceasefire in Syria?"
    other = "On Wednesday, Moscow reported that Russia and Turkey are in close contact about Syria."
    assert scorer._kind_bonus("date", other, question) == config.date_off_event_bonus
    assert scorer._kind_bonus("date", "Russia and Turkey brokered a ceasefire on March 5.", question) \
        == config.kind_bonus


def test_a_date_followed_by_when_dates_that_event() -> None:
    from rag.text.dates import is_comparison_point

    text = ("The offensive marks the first major clash since March 2020 when a ceasefire brokered by Russia "
            "and Türkiye was established.")
    assert not is_comparison_point(text, text.index("March"))
    text = "It was the first time since 2011 that the army lost the city."
    assert is_comparison_point(text, text.index("2011"))
    text = "The offensive launched last week marks the first clash since March 2020 when a ceasefire was agreed."
    assert _short("When was the ceasefire agreed?", text, published="2024-12-02") == "March 2020"


def test_a_sentence_saying_the_app_is_quoted_with_the_one_beside_it_that_names_it() -> None:
    from rag.answer.extractive import ExtractiveGenerator
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig

    generator = ExtractiveGenerator(SentenceScorer(None, NONE, AnswerConfig()))  # type: ignore[arg-type]
    question = "At least seven states will bar public employees from using which social media app?"
    text = ("Seven states said they will bar public employees from using the app on government devices. "
            "Nebraska banned TikTok from state devices in 2020.")
    best = _candidate(text, text.split(". ")[0] + ".")
    beside = _candidate(text, text.split(". ")[1])
    beside.passage = best.passage
    assert generator._neighbours(best, [best, beside], "name", question) == [beside]
    named = _candidate("Seven states said they will bar TikTok on government devices. Nebraska did so in 2020.",
                       "Seven states said they will bar TikTok on government devices.")
    assert generator._neighbours(named, [named], "name", question) == []


def test_a_word_near_the_kind_asked_for_is_a_description_of_it() -> None:
    import numpy as np

    from rag.answer.extractive import ExtractiveGenerator
    from rag.retrieve.rerank import SentenceScorer
    from rag.settings import AnswerConfig

    scorer = SentenceScorer(None, NONE, AnswerConfig(describe_similarity=0.5))  # type: ignore[arg-type]
    near = {"paper": [1.0, 0.0], "publication": [0.8, 0.6], "officials": [0.0, 1.0]}
    scorer.vectors = lambda texts: [np.asarray(near.get(t, [0.0, 1.0])) for t in texts]  # type: ignore[method-assign]
    generator = ExtractiveGenerator(scorer)
    assert generator._describes("Arab officials told the publication.", "paper")
    assert not generator._describes("Arab officials told the officials.", "paper")


def test_how_long_wants_a_span_of_time_said_as_one() -> None:
    assert question_kind("How long is she facing in prison?") == "duration"
    assert question_kind("How long ago did the quake strike?") == "date"
    text = "Maxwell was moved to a prison in Florida to continue serving her 20-year sentence, records show."
    assert _short("How long is she facing in prison?", text) == "20 years"
    assert _short("How long will the pause last?", "The pause will last six months, officials said.") == "six months"
    assert _short("How long will the ban last?", "The ban runs for a year from Monday, the ministry said.") == "1 year"
    # An age or a time ago is no span of the thing asked about.
    assert _short("How long did he serve?", "The 60-year-old was released two weeks ago, his lawyer said.") is None


def test_a_middle_initial_is_part_of_the_name() -> None:
    assert [n for _, n in proper_names("President John F. Kennedy was killed in Dallas.")] == ["John F. Kennedy",
                                                                                            "Dallas"]
    assert [n for _, n in proper_names("George W. Bush said so.")] == ["George W. Bush"]


def test_a_name_keeps_the_number_that_ends_it() -> None:
    def names(text: str) -> list[str]:
        return [n for _, n in proper_names(text)]

    assert names("Title 42 expires on May 11.") == ["Title 42"]
    assert names("It surpassed Super Bowl 49 in viewers.") == ["Super Bowl 49"]
    assert names("Apollo 11 landed on the Moon.") == ["Apollo 11", "Moon"]
    # A count, a day, a decimal or a score is not part of the name before it.
    assert names("Apple 10 years ago said so.") == ["Apple"]
    assert names("He met Smith 3 times on May 6.") == ["Smith"]
    assert names("The Heat 110-102 win.") == ["Heat"]
    assert names("It ended Jets 14, Patriots 28 on Sunday.") == ["Jets", "Patriots"]
    assert _short("What is the policy called?", "The policy, Title 42, expires on May 11.") == "Title 42"


def test_former_is_no_part_of_a_name() -> None:
    text = "Former South Carolina Gov. Nikki Haley launched her bid on Tuesday."
    assert [n for _, n in proper_names(text)] == ["South Carolina", "Nikki Haley"]


def test_dotted_initials_keep_their_last_full_stop() -> None:
    assert [n for _, n in proper_names("Thousands of flights across the U.S. were delayed.")][-1] == "U.S."
    assert [n for _, n in proper_names("She moved to the U.K. in 2010.")] == ["U.K."]
    assert [n for _, n in proper_names("The U.S. Supreme Court ruled.")] == ["U.S. Supreme Court"]


def test_a_quoted_title_keeps_its_day_and_month_words() -> None:
    text = 'Rock, a former "Saturday Night Live" comedian, spoke on Saturday. “May Day” aired. On Monday Biden left.'
    assert [n for _, n in proper_names(text)] == ["Rock", "Saturday Night Live", "May Day", "Biden"]


def test_a_question_about_words_said_or_written_is_answered_by_the_quotation() -> None:
    question = "Protesters who disrupted the speech held a sign saying what?"
    assert question_kind(question) == "quote"
    assert question_kind("What did the banner say?") == "quote"
    assert question_kind("What did the minister say is the main risk?") != "quote"  # asks for the risk
    assert _short(question, 'Two activists held up a flag that read "Stop the cuts now" before they left.'
                  ) == "Stop the cuts now"
    assert _short(question, "The activists were escorted out by security guards.") is None


def test_a_captions_name_label_run_into_its_text_names_the_person_once() -> None:
    text = "Tennis legend Serena Williams Serena Williams waves. Serena Williams Williams attends. Walla Walla won."
    assert [n for _, n in proper_names(text)] == ["Tennis", "Serena Williams", "Serena Williams", "Walla Walla"]


def test_an_ordinal_starts_a_name() -> None:
    text = "The 13th Amendment to the Constitution ended slavery in 1865."
    assert [n for _, n in proper_names(text)] == ["13th Amendment", "Constitution"]


def test_a_place_with_a_demonyms_ending_is_a_name_when_it_owns_something() -> None:
    text = "As Mississippi's capital city went without water, Syrian officials met Iraqi ministers."
    assert [n for _, n in proper_names(text)] == ["Mississippi"]


def test_days_and_months_are_no_names_when_possessive_or_abbreviated() -> None:
    text = "Tuesday's runoff in Georgia follows the Nov. 3 election, Jan Smith said on Sept. 5."
    assert [n for _, n in proper_names(text)] == ["Georgia", "Jan Smith"]


def test_a_sentence_referring_back_to_a_bare_figure_answers_with_it() -> None:
    text = "TODAY'S NUMBER\n\n85%\n\nThat's the percentage of rural land at high risk for wildfires."
    sentence = "That's the percentage of rural land at high risk for wildfires."
    assert _short("What percentage of rural land is at risk for wildfires?", text, sentence) == "85%"
    # Only a figure standing alone is referred to; a sentence that merely follows one is not.
    text = "Crews restored power to 85% of homes.\n\nThat's the percentage of rural land at high risk."
    assert _short("What percentage of rural land is at risk?", text, text.split("\n\n")[1]) is None


def test_a_person_is_named_with_the_title_the_article_styles_them_with() -> None:
    from rag.text.names import with_style
    text = "Florida Gov. Ron DeSantis met British Prime Minister Liz Truss, then Southwest CEO Bob Jordan."
    assert [with_style(text, s, n) for s, n in proper_names(text)] == [
        "Florida", "Gov. Ron DeSantis", "Prime Minister Liz Truss", "Southwest", "Bob Jordan"]
    # A title whose first word would be cut off is left out: not "Minister Abbas Araghchi".
    text = "It was confirmed by Foreign Minister Abbas Araghchi."
    assert with_style(text, text.index("Abbas"), "Abbas Araghchi") == "Abbas Araghchi"
    assert _short("Who met the governor?", "Later, President Joe Biden met the governor.") == "President Joe Biden"


def test_a_brand_written_lower_case_first_is_a_name() -> None:
    text = "Apple's iPhone and eBay Motors were mentioned."
    assert [n for _, n in proper_names(text)] == ["Apple", "iPhone", "eBay Motors"]


def test_a_count_is_read_before_the_noun_it_counts_the_head_of_the_asked_phrase() -> None:
    text = "Artemis II will carry four as-yet-unnamed astronauts on an eight-to-ten day mission around the Moon."
    question = "How many astronauts will fly the mission?"
    assert figure(text, PATTERNS["number"], question, "astronaut", NONE) == "four as-yet-unnamed astronauts"
    # What is counted is the asked phrase's head, its last plural, not its first word.
    assert counted_noun("how many asylum applications are pending?", NONE) == "application"
    assert counted_noun("He won how many Grand Slam singles titles?", NONE) == "titl"
    assert counted_noun("how many people attended the festival?", NONE) == "peopl"  # no plural s: the first
    assert counted_noun("when did it open?", NONE) is None


def test_a_title_word_closing_a_name_is_a_surname() -> None:
    def names(text: str) -> list[str]:
        return [n for _, n in proper_names(text)]

    assert names("Yankees slugger Aaron Judge hit his 61st home run.") == ["Yankees", "Aaron Judge"]
    assert names("Southwest CEO Bob Jordan apologised.") == ["Southwest", "Bob Jordan"]
    assert names("Oregon Gov. Kate Brown spoke.") == ["Oregon", "Kate Brown"]
    assert names("He met the Ukrainian President on Monday.") == []  # a people word and a title name no one
    assert names("Tesla and SpaceX CEO said no.") == ["Tesla and SpaceX"]  # an abbreviation stays a title


def test_a_since_cloze_asks_for_the_date_counted_from() -> None:
    from rag.retrieve.rerank import SentenceScorer, asks_since
    from rag.settings import AnswerConfig

    question = "Mauna Loa, the largest active volcano, erupted this week for the first time since:"
    assert question_kind(question) == "date" and asks_since(question)
    assert asks_since("Since when has she led the party?")
    assert not asks_since("He has led the party since 2017. Who replaced him?")
    config = AnswerConfig()
    scorer = SentenceScorer(None, NONE, config)  # type: ignore[arg-type]
    counted_from = "The volcano erupted on Sunday for the first time since 1984, officials said."
    day_only = "The eruption started late on Sunday, November 27, on the Big Island."
    assert scorer._kind_bonus("date", counted_from, question) == config.kind_bonus
    assert scorer._kind_bonus("date", day_only, question) == -config.date_penalty
    assert _short(question, counted_from, published="2022-11-29") == "1984"
    populous = "It has been the most populous nation since at least 1950, and has not shrunk since 1961."
    assert _short("It has been the world's most populous nation since at least:", populous) == "1950"
    assert _short("It has not shrunk since:", populous) == "1961"  # the clause the question speaks of


def test_since_at_least_is_a_year_but_at_least_is_not() -> None:
    from rag.text.dates import resolve_dates

    text = "It has led since at least 1950, and at least 2000 people came."
    assert [m.expression for m in resolve_dates(text, None)] == ["1950"]


def test_a_statement_to_complete_is_answered_by_what_the_sentence_writes_next() -> None:
    record = "The record was previously held by Roger Maris, who hit 61 in 1961."
    assert question_kind("Judge broke an American League record previously held by:") is None
    assert _short("Judge broke an American League record previously held by:", record) == "Roger Maris"
    assert _short("After no winner, the top prize ballooned to:", "The jackpot ballooned to $1.02 billion.") \
        == "$1.02 billion"
    assert _short("Fenrir is the tallest cat. He measures:", "Fenrir measures 18.83 inches tall.") == "18.83 inches"
    assert _short("He was known as:", "He was known as the “Man of the Hole” by officials.") == "Man of the Hole"
    assert _short("She was a special assistant to:", "She was an assistant to President Donald Trump.") \
        == "President Donald Trump"
    assert _short("He was known as:", "Officials said little about the man.") is None  # no continuation
