"""Settings read from the environment: one prefix, typed values, clear errors."""

from __future__ import annotations

import pytest

from rag.errors import RagError
from rag.settings import AnswerConfig, Settings


def test_answer_weights_are_read_from_their_variables() -> None:
    s = Settings.from_env({"RAG_ANSWER_MIN_SUPPORT": "0.4", "RAG_ANSWER_REDUNDANCY_POOL": "10",
                           "RAG_ANSWER_GAZETTEER": "false"})
    assert (s.answer.min_support, s.answer.redundancy_pool, s.answer.gazetteer) == (0.4, 10, False)


def test_an_empty_number_is_unset_but_an_empty_text_is_a_setting() -> None:
    s = Settings.from_env({"RAG_ANSWER_MIN_SUPPORT": "", "RAG_ANSWER_WHO_TYPE": ""})
    assert s.answer.min_support == AnswerConfig().min_support
    assert s.answer.who_type == ""  # "who" asks for no particular type


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(RagError, match="RAG_ANSWER_MIN_SUPPORT"):
        Settings.from_env({"RAG_ANSWER_MIN_SUPPORT": "high"})
