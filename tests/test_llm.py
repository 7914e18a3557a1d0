"""The OpenAI generator against a real llama.cpp server (Gemma 3 270M base) on loopback.

The model is tiny and ignores instructions, so the tests check the protocol and our parsing of whatever it
says; one test swaps in prompts that make it echo a cited sentence, so marker mapping is checked end to end.
Pure citation parsing (no server) is tested on scripted strings at the bottom.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from llm_server import LLM_TIMEOUT_S

from rag.answer.citations import REFUSAL, best_quote, citations_for, parse_markers
from rag.answer.condense import condense_question
from rag.answer.llm import (
    JsonReply,
    OpenAIGenerator,
    OutcomeFilter,
    answer_grounded,
    cite_quote,
    count_usage,
    decide_kind,
    json_answer_text,
    quote_held,
    read_json_reply,
    read_outcome,
)
from rag.errors import RagError
from rag.models import Answer, Chunk, Passage
from rag.settings import PROJECT_ROOT, Settings

SEED = "000_0acf8dbdca9c3ed5.txt"
ARTICLE = (PROJECT_ROOT / "seeds" / SEED).read_text(encoding="utf-8")
QUESTION = "When did the army leave Hama?"
HAMA = "However, on December 5, the command of the SAR army officially announced the redeployment"
IRAN = "Iran has warned Syrian President Bashar al-Assad"


def _passage(number: int, first: str, last: str, **extra: str) -> Passage:
    """A passage of the seed article from the sentence starting `first` to the one ending `last`."""
    start = ARTICLE.index(first)
    end = ARTICLE.index(last, start) + len(last)
    meta = {
        "doc_id": SEED,
        "source": SEED,
        "title": "Iran limits help to Assad",
        "outlet": "TASS",
        "published": "2024-12-06",
        **extra,
    }
    node = Chunk(text=ARTICLE[start:end], metadata=meta, start_char_idx=start, end_char_idx=end)
    return Passage(node=node, score=1.0 / number, number=number)


@pytest.fixture
def passages() -> list[Passage]:
    return [
        _passage(
            1,
            "After the capture of Aleppo",
            "outside the city of Hama.",
            dates="today, Friday = 6 December 2024",
        ),
        _passage(2, IRAN, "told the publication."),
        _passage(3, "As unnamed sources familiar", "from the country."),
    ]


def _settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "llm": "openai",
        "openai_model": "gemma-3-270m",
        "llm_max_tokens": 48,
        "llm_timeout": LLM_TIMEOUT_S,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def _assert_citations_point_into_article(answer: Answer, n_passages: int) -> None:
    assert [c.marker for c in answer.citations] == parse_markers(answer.text, n_passages)[1]
    for citation in answer.citations:
        assert 1 <= citation.marker <= n_passages
        assert ARTICLE[citation.start : citation.end] == citation.quote
        assert (
            ARTICLE[citation.passage_start : citation.passage_start + len(citation.passage)]
            == citation.passage
        )


def _echo_prompts(tmp_path: Path, reply: str) -> Path:
    """Prompts a base model continues by repeating `reply`: a deterministic reply from a real server.

    The same text serves both reply formats (answer_*.txt and answer_json_*.txt); the shipped schema
    is copied, so a JSON `reply` in its field order is echoed under constrained decoding."""
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    reply = reply.replace("{", "{{").replace("}", "}}")  # templates: literal braces are doubled
    for prefix in ("answer", "answer_json"):
        (prompts / f"{prefix}_system.txt").write_text(reply)
        (prompts / f"{prefix}_user.txt").write_text(reply * 5)
    (prompts / "answer_passage.txt").write_text("[{number}] {text}")
    shutil.copy(PROJECT_ROOT / "prompts" / "answer_schema.json", prompts / "answer_schema.json")
    return prompts


def _json_line(**fields: object) -> str:
    """One reply in the shipped schema's field order, as a base model would echo it."""
    order = list(json.loads((PROJECT_ROOT / "prompts" / "answer_schema.json").read_text())["properties"])
    return json.dumps({name: fields[name] for name in order}) + "\n"


# --- the prompt ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply_format", ["json", "text"])
def test_messages_carry_numbered_passages_and_rules(
    tmp_path: Path, passages: list[Passage], reply_format: str
) -> None:
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1", llm_reply_format=reply_format)
    )
    system, user = generator.build_messages(QUESTION, passages)
    assert system["role"] == "system" and user["role"] == "user"
    assert (REFUSAL in system["content"]) == (reply_format == "text")  # JSON: the code writes the refusal
    assert ('"outcome"' in system["content"]) == (reply_format == "json")
    content = user["content"]
    for passage in passages:
        assert f"[{passage.number}] Title: Iran limits help to Assad | Outlet: TASS" in content
        assert passage.text in content
    assert f"Published: 2024-12-06 | Source: {SEED}" in content
    assert "Dates: today, Friday = 6 December 2024" in content
    assert content.index("[1]") < content.index("[2]") < content.index("[3]") < content.index(QUESTION)


def test_response_format_carries_the_schema_and_only_the_given_passage_numbers(
    tmp_path: Path, passages: list[Passage]
) -> None:
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1"))
    spec = generator.response_format(passages[:2])
    assert spec["type"] == "json_schema" and spec["json_schema"]["strict"] is True
    schema = spec["json_schema"]["schema"]
    assert set(schema["required"]) >= {"outcome", "answer", "citations"}
    assert schema["properties"]["citations"]["items"] == {"type": "integer", "enum": [1, 2]}
    assert schema["properties"]["outcome"]["enum"] == ["answer", "refusal", "disagreement"]


# --- real calls ---------------------------------------------------------------------------------------


@pytest.mark.llm
def test_real_answer_parses_whatever_the_model_says(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=llm_server))
    answer = generator.answer(QUESTION, passages)
    assert answer.mode == "openai" and answer.question == QUESTION
    assert answer.passages == passages
    # The server counted the prompt it received: the three passages make it long.
    messages = generator.build_messages(QUESTION, passages)
    assert answer.usage["prompt_tokens"] > 0.5 * count_usage(messages, "")["prompt_tokens"] > 200
    assert 0 < answer.usage["completion_tokens"] <= 48
    _assert_citations_point_into_article(answer, len(passages))


@pytest.mark.llm
def test_real_reply_markers_map_to_supporting_quotes(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    # A reply with real markers, including [7], which points at no passage.
    line = "ANSWER\nThe army left Hama on December 5 [1]. Iran warned Assad [2][7].\n"
    prompts = _echo_prompts(tmp_path, line)
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, prompts_dir=prompts, llm_reply_format="text")
    )
    answer = generator.answer(QUESTION, passages)
    assert answer.text.startswith("The army left Hama on December 5 [1]. Iran warned Assad [2]")
    assert "[7]" not in answer.text
    assert [c.marker for c in answer.citations] == [1, 2]
    assert answer.citations[0].quote.startswith(HAMA)
    assert answer.citations[1].quote.startswith(IRAN)
    assert answer.kind == "answer" and not answer.notes
    _assert_citations_point_into_article(answer, len(passages))


@pytest.mark.llm
def test_real_outcome_line_sets_the_kind_and_is_never_streamed(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    line = "DISAGREEMENT\nOne article says the army left Hama on December 5 [1], another that Iran warned Assad [2].\n"
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, prompts_dir=_echo_prompts(tmp_path, line),
                  llm_reply_format="text")
    )
    items = list(generator.stream(QUESTION, passages))
    final = items[-1]
    assert isinstance(final, Answer) and final.kind == "disagreement" and not final.notes
    assert final.text.startswith("One article says the army left Hama on December 5 [1]")
    assert [c.marker for c in final.citations][:2] == [1, 2]
    shown = "".join(i for i in items[:-1] if isinstance(i, str))
    # The outcome line is held back; the base model's repeats of the line after it are body text.
    assert shown.startswith("One article says") and final.text.startswith(shown[:60])


@pytest.mark.llm
@pytest.mark.parametrize(
    ("line", "kind"),
    [("The army left Hama on December 5 [1].\n", "answer"), ("Hama is a city in Syria.\n", "refusal")],
)
def test_real_reply_without_outcome_line_falls_back_on_citations(
    llm_server: str, tmp_path: Path, passages: list[Passage], line: str, kind: str
) -> None:
    # A model that ignores the format: the kind follows the citations, and the note says so.
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, prompts_dir=_echo_prompts(tmp_path, line),
                  llm_reply_format="text")
    )
    answer = generator.answer(QUESTION, passages)
    assert answer.text.startswith(line.strip())
    assert answer.kind == kind and bool(answer.citations) == (kind == "answer")
    assert any("no outcome line" in note for note in answer.notes)


@pytest.mark.llm
def test_stream_yields_deltas_then_the_parsed_answer(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, llm_max_tokens=32, llm_reply_format="text")
    )
    items = list(generator.stream(QUESTION, passages))
    deltas, final = items[:-1], items[-1]
    assert len(deltas) > 1 and all(isinstance(d, str) for d in deltas)
    assert isinstance(final, Answer)
    reply = "".join(deltas)  # type: ignore[arg-type]
    assert final.text == parse_markers(reply, len(passages))[0] or final.kind == "refusal"
    assert final.citations == citations_for(final.text, passages)
    assert final.usage["completion_tokens"] > 0 and final.mode == "openai"


@pytest.mark.llm
def test_real_json_reply_fields_become_the_cited_answer(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    # Constrained decoding: the server holds the reply to the schema, the base model echoes the fields.
    line = _json_line(quote=HAMA, citations=[1], answer="The army left Hama on December 5.", outcome="answer")
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, prompts_dir=_echo_prompts(tmp_path, line),
                  llm_max_tokens=120)
    )
    items = list(generator.stream(QUESTION, passages))
    final = items[-1]
    assert isinstance(final, Answer) and final.kind == "answer" and not final.notes
    assert final.text == "The army left Hama on December 5 [1]."
    assert final.short == "The army left Hama on December 5"  # the answer field, without its markers
    assert [c.marker for c in final.citations] == [1] and final.citations[0].quote.startswith(HAMA)
    assert items[:-1] == [final.text]  # JSON replies stream their text once, when it is parsed
    _assert_citations_point_into_article(final, len(passages))


@pytest.mark.llm
def test_real_json_refusal_is_a_refusal(llm_server: str, tmp_path: Path, passages: list[Passage]) -> None:
    line = _json_line(quote="", citations=[], answer="", outcome="refusal")
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, prompts_dir=_echo_prompts(tmp_path, line),
                  llm_max_tokens=120)
    )
    answer = generator.answer(QUESTION, passages)
    assert (answer.kind, answer.text, answer.citations, answer.notes) == ("refusal", REFUSAL, [], [])
    assert answer.short is None


@pytest.mark.llm
def test_real_json_reply_of_the_shipped_prompt_is_read(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    # Whatever the tiny model says, the server keeps it to the schema, so its fields are read.
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=llm_server, llm_max_tokens=200))
    answer = generator.answer(QUESTION, passages)
    assert answer.kind in ("answer", "refusal", "disagreement")
    assert not any("could not be read" in note for note in answer.notes), answer.notes
    assert answer.usage["completion_tokens"] > 0
    _assert_citations_point_into_article(answer, len(passages))


@pytest.mark.llm
def test_real_server_rejecting_the_schema_falls_back_to_the_outcome_line(
    llm_server: str, tmp_path: Path, passages: list[Passage]
) -> None:
    line = "ANSWER\nThe army left Hama on December 5 [1].\n"
    prompts = _echo_prompts(tmp_path, line)
    (prompts / "answer_schema.json").write_text('{"type": "nonsense"}')  # llama.cpp answers 400
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=llm_server, prompts_dir=prompts))
    for answer in (generator.answer(QUESTION, passages), list(generator.stream(QUESTION, passages))[-1]):
        assert isinstance(answer, Answer)
        assert answer.kind == "answer" and answer.text.startswith("The army left Hama on December 5 [1].")
        assert "rejected the JSON reply schema (400" in answer.notes[0]
        assert "RAG_LLM_REPLY_FORMAT=text" in answer.notes[0]


@pytest.mark.llm
def test_condense_rewrites_with_history(llm_server: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, openai_base_url=llm_server)
    assert condense_question("And Aleppo?", [], settings) == "And Aleppo?"  # no history: no call
    history = [(QUESTION, "On December 5 [1].")]
    rewritten = condense_question("And Aleppo?", history, settings)
    assert rewritten and "\n" not in rewritten


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.llm
def test_stopped_server_names_the_url(stopped_llm_url: str, tmp_path: Path, passages: list[Passage]) -> None:
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=stopped_llm_url))
    with pytest.raises(RagError) as err:
        generator.answer(QUESTION, passages)
    message = str(err.value)
    assert f"Could not reach the LLM server at {stopped_llm_url} (connection refused)" in message
    assert "OPENAI_BASE_URL" in message
    with pytest.raises(RagError, match="connection refused"):
        list(generator.stream(QUESTION, passages))


@pytest.mark.llm
def test_timeout_names_the_url(llm_server: str, tmp_path: Path, passages: list[Passage]) -> None:
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url=llm_server, llm_timeout=0.001, llm_max_tokens=4)
    )
    with pytest.raises(RagError, match=f"Could not reach the LLM server at {llm_server} .*RAG_LLM_TIMEOUT"):
        generator.answer(QUESTION, passages)


@pytest.mark.llm
def test_wrong_key_is_reported_without_the_key(
    llm_server_with_key: tuple[str, str], tmp_path: Path, passages: list[Passage]
) -> None:
    url, key = llm_server_with_key
    wrong = "sk-wrong-key-0123456789"
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=url, openai_api_key=wrong))
    with pytest.raises(RagError) as err:
        generator.answer(QUESTION, passages)
    assert "OPENAI_API_KEY" in str(err.value) and "401" in str(err.value)
    assert wrong not in str(err.value)
    # The right key gets through the same server.
    ok = OpenAIGenerator(_settings(tmp_path, openai_base_url=url, openai_api_key=key, llm_max_tokens=4))
    assert ok.answer(QUESTION, passages[:1]).mode == "openai"


@pytest.mark.llm
def test_not_found_names_the_model_setting(llm_server: str, tmp_path: Path, passages: list[Passage]) -> None:
    # llama.cpp serves any model name, so provoke its real 404 with a base URL missing /v1.
    generator = OpenAIGenerator(_settings(tmp_path, openai_base_url=llm_server.removesuffix("/v1") + "/nope"))
    with pytest.raises(RagError, match="no model 'gemma-3-270m'.*RAG_OPENAI_MODEL"):
        generator.answer(QUESTION, passages)


def test_missing_key_and_url_names_the_variables(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="OPENAI_API_KEY.*OPENAI_BASE_URL"):
        OpenAIGenerator(_settings(tmp_path))


# --- citation parsing on scripted replies (pure logic, no server) ----------------------------------------


@pytest.mark.parametrize(
    ("reply", "clean", "markers"),
    [
        (
            "The army left Hama on December 5 [1]. Iran pulled out commanders [3][9].",
            "The army left Hama on December 5 [1]. Iran pulled out commanders [3].",
            [1, 3],
        ),
        ("Both say so [1, 2]. Again [2][1].", "Both say so [1, 2]. Again [2][1].", [1, 2]),
        ("A range [1-3].", "A range [1-3].", [1, 2, 3]),
        ("Mixed [2, 9] and gone [9]. Hostile [1-999999999].", "Mixed [2] and gone. Hostile [1].", [2, 1]),
        ("Nothing cited.", "Nothing cited.", []),
    ],
)
def test_parse_markers(reply: str, clean: str, markers: list[int]) -> None:
    assert parse_markers(reply, 3) == (clean, markers)


def test_citations_follow_first_use_and_quote_the_best_sentence(passages: list[Passage]) -> None:
    reply = (
        "Iran withdrew its senior commanders from eastern Syria [3]. The army announced its "
        "redeployment outside Hama on December 5 [1]. Tehran told Assad help would be limited. [2] [9]"
    )
    citations = citations_for(reply, passages)
    assert [c.marker for c in citations] == [3, 1, 2]
    assert citations[0].quote.startswith("As unnamed sources familiar")
    assert citations[1].quote.startswith(HAMA)
    # A marker opening the next sentence belongs to the claim before it.
    assert citations[2].quote.startswith('"Earlier this week, Tehran told Assad')
    for citation in citations:
        assert ARTICLE[citation.start : citation.end] == citation.quote
        assert (citation.doc_id, citation.outlet, citation.published) == (SEED, "TASS", "2024-12-06")


def test_best_quote_weighs_numbers_and_dates(passages: list[Passage]) -> None:
    quote, start, end = best_quote(passages[0], "What happened on December 5?")
    assert quote.startswith(HAMA) and ARTICLE[start:end] == quote


# --- outcome lines on scripted replies (pure logic, no server) ------------------------------------------


@pytest.mark.parametrize(
    ("reply", "kind", "body"),
    [
        ("ANSWER\nOn December 5 [1].", "answer", "On December 5 [1]."),
        ("REFUSAL\nThe articles don't say.", "refusal", "The articles don't say."),
        ("DISAGREEMENT\nOne says 30 [1], another 1 [2].", "disagreement", "One says 30 [1], another 1 [2]."),
        ("  **Answer:** On December 5 [1].", "answer", "On December 5 [1]."),
        ("# REFUSAL", "refusal", ""),
        ("Disagreement - one says 30 [1].", "disagreement", "one says 30 [1]."),
        ("On December 5 [1].", None, "On December 5 [1]."),
        ("Answered on December 5 [1].", None, "Answered on December 5 [1]."),
        ("The articles don't say.", None, "The articles don't say."),  # the wording alone is not an outcome
    ],
)
def test_read_outcome(reply: str, kind: str | None, body: str) -> None:
    outcome = read_outcome(reply)
    assert (outcome.kind, outcome.body) == (kind, body)


def test_decide_kind_checks_the_declared_outcome_against_citations(passages: list[Passage]) -> None:
    one = citations_for("On December 5 [1].", passages)
    two = citations_for("One says so [1], another not [2].", passages)
    assert decide_kind("answer", "On December 5 [1].", one) == ("answer", [])
    assert decide_kind("refusal", REFUSAL, []) == ("refusal", [])
    assert decide_kind("disagreement", "x [1], y [2].", two) == ("disagreement", [])
    kind, notes = decide_kind("disagreement", "x [1].", one)
    assert kind == "answer" and "fewer than two" in notes[0]
    kind, notes = decide_kind(None, "On December 5 [1].", one)
    assert kind == "answer" and "no outcome line" in notes[0]
    kind, notes = decide_kind(None, REFUSAL, [])
    assert kind == "refusal" and "cites no passage" in notes[0]
    kind, notes = decide_kind("answer", "On December 5.", [])
    assert kind == "answer" and notes == ["The answer cites no passage."]


@pytest.mark.parametrize(
    "deltas",
    [
        ["ANS", "WER", "\n", "On Dec", "ember 5 [1]."],
        ["ANSWER: On December 5 [1]."],
        ["\n", "REFUSAL", "\n\nThe articles", " don't say."],
        ["On December 5 [1]", " and more."],
        ["On"],
    ],
)
def test_outcome_filter_streams_everything_but_the_outcome_line(deltas: list[str]) -> None:
    hold = OutcomeFilter()
    shown = "".join(hold.feed(d) for d in deltas) + hold.flush()
    assert shown == read_outcome("".join(deltas)).body


# --- JSON replies on scripted strings (pure logic, no server) --------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"quote": "q", "citations": [1], "answer": "On December 5.", "outcome": "answer"}',
         JsonReply("answer", "On December 5.", [1], "q")),
        ('```json\n{"outcome": "REFUSAL", "answer": "", "citations": []}\n```', JsonReply("refusal", "", [], "")),
        ('Here: {"outcome": "disagreement", "citations": [1, "2", 2, true], "answer": "x"}',
         JsonReply("disagreement", "x", [1, 2], "")),
        ('{"quote": "The army left', JsonReply(None, "", [], "The army left")),  # cut off by max_tokens
        ('{"quote": "", "citations": [1, 2', JsonReply(None, "", [1, 2], "")),
        ('{"outcome": "maybe", "citations": 3}', JsonReply(None, "", [3], "")),
        ("ANSWER\nOn December 5 [1].", None),
        ("[1, 2]", None),
    ],
)
def test_read_json_reply(reply: str, expected: JsonReply | None) -> None:
    assert read_json_reply(reply) == expected


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        (JsonReply("answer", "On December 5.", [1], ""), "On December 5 [1]."),
        (JsonReply("answer", "December 5", [2, 1], ""), "December 5 [2][1]"),
        (JsonReply("answer", "On December 5 [1].", [1], ""), "On December 5 [1]."),  # no double marker
        (JsonReply("answer", "On December 5 [7].", [1, 9], ""), "On December 5 [1]."),  # [7], [9]: no passage
        (JsonReply("answer", "", [1], "The army left on December 5."), "The army left on December 5 [1]."),
        (JsonReply("disagreement", "20 dead [1], 35 dead [2].", [1, 2], ""), "20 dead [1], 35 dead [2]."),
        (JsonReply("refusal", "", [], ""), ""),
    ],
)
def test_json_answer_text_places_the_cited_numbers(reply: JsonReply, text: str) -> None:
    assert json_answer_text(reply, 3) == text


@pytest.mark.parametrize(
    ("answer", "question", "grounded"),
    [
        ("December 5 [1].", QUESTION, True),
        ("On the fifth of December, outside the city [1].", QUESTION, True),  # half of what it adds is there
        ("three directions [1]", "From how many directions was Hama attacked?", True),  # "three" = 3
        ("40 different directions [1]", "From how many directions was Hama attacked?", False),  # every number
        ("Post-series depression [1]", "What is post-series depression?", False),  # the question, echoed
        ("Hama [1]", "Did the army leave Hama or Aleppo?", True),  # only the question's words: in the passage
        ("Homs [1]", "Did the army leave Homs or Latakia?", False),  # ... not in the passage
        ("The Muslim Brotherhood [1]", "Who backed the uprising?", False),
    ],
)
def test_answer_grounded_needs_what_the_answer_adds_in_its_passages(
    passages: list[Passage], answer: str, question: str, grounded: bool
) -> None:
    assert answer_grounded(answer, question, passages[:1]) is grounded


def test_cite_quote_moves_the_citation_to_the_passage_holding_the_quote(passages: list[Passage]) -> None:
    reply = JsonReply("answer", "December 5", [2], HAMA)
    fixed, note = cite_quote(reply, passages)
    assert fixed.citations == [1] and "[2]" in note and "[1]" in note
    assert cite_quote(JsonReply("answer", "December 5", [1], HAMA), passages) == (
        JsonReply("answer", "December 5", [1], HAMA), "")
    unknown = JsonReply("answer", "x", [2], "A sentence found in none of the passages at all.")
    assert cite_quote(unknown, passages) == (unknown, "")


def test_quote_held_reads_most_words_not_the_exact_sentence(passages: list[Passage]) -> None:
    # A small model rewords the sentence it quotes: order and a few words may change.
    assert quote_held("The command of the SAR army announced the redeployment of its units on December 5.",
                      passages[0])
    assert not quote_held("The army was defeated near Homs by a surprise attack.", passages[0])
    assert not quote_held("", passages[0])


@pytest.mark.parametrize("cite_answer", [True, False])
def test_an_answer_cited_to_the_wrong_passage_is_cited_where_it_is_stated(
    tmp_path: Path, passages: list[Passage], cite_answer: bool
) -> None:
    generator = OpenAIGenerator(
        _settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1", llm_cite_answer=cite_answer)
    )
    reply = json.dumps({"outcome": "answer", "answer": "December 5", "citations": [2], "quote": ""})
    answer = generator._finish_json(QUESTION, passages, [], reply, {}, 0.0)
    if cite_answer:
        assert answer.kind == "answer" and answer.text == "December 5 [1]"
        assert [c.marker for c in answer.citations] == [1]
        assert any("cited [2]" in note and "[1] instead" in note for note in answer.notes)
    else:
        assert answer.kind == "refusal"
    # Stated by no passage: still refused.
    unstated = json.dumps({"outcome": "answer", "answer": "July 19, 1975", "citations": [2], "quote": ""})
    assert generator._finish_json(QUESTION, passages, [], unstated, {}, 0.0).kind == "refusal"
