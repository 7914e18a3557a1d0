"""The offline follow-up rewrite: `rewrite_followup`, and `condense_question` using it without settings."""

from __future__ import annotations

import pytest

from rag.answer.condense import condense_question, question_names, rewrite_followup

HAMA = [("when did the army leave Hama?", "December 5: “... redeployment of its units outside Hama.” [1]")]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and who led the offensive?", "who led the offensive (Hama)?"),
        ("what about Aleppo?", "when did the army leave Aleppo?"),
        ("And what about Aleppo", "when did the army leave Aleppo?"),
        ("who led it?", "who led it (Hama)?"),
        ("what happened there?", "what happened in Hama?"),
        ("how far is that city from Aleppo?", "how far is Hama from Aleppo?"),
        ("and when did it fall to HTS?", "when did it fall to HTS (Hama)?"),
    ],
)
def test_follow_ups_carry_the_previous_names(question: str, expected: str) -> None:
    assert rewrite_followup(question, HAMA) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Who is Iran's ambassador to Syria?",
        "Which newspaper reported that Iran warned Assad its assistance would be limited?",
        "who led the offensive on Hama?",
        "what did Iran tell them?",  # a pronoun, but the question names its own subject
        "how many people fled?",  # no follow-up signal at all
    ],
)
def test_standalone_questions_pass_unchanged(question: str) -> None:
    assert rewrite_followup(question, HAMA) == question


def test_names_come_from_the_latest_question_that_has_any() -> None:
    history = [*HAMA, ("and when?", "December 5 [1]")]
    assert rewrite_followup("and who led it?", history) == "who led it (Hama)?"


def test_what_about_swaps_the_last_name() -> None:
    history = [("when did Hayat Tahrir al-Sham take Hama?", "...")]
    assert rewrite_followup("what about Aleppo?", history) == "when did Hayat Tahrir al-Sham take Aleppo?"


def test_multiword_names_are_kept_whole() -> None:
    assert question_names("What did Bashar al-Assad say to the Wall Street Journal?") == [
        "Bashar al-Assad", "Wall Street Journal"]


def test_no_names_in_history_leaves_the_question_alone() -> None:
    assert rewrite_followup("and who led it?", [("when did the army leave?", "...")]) == "and who led it?"


def test_condense_without_settings_is_the_offline_rewrite() -> None:
    assert condense_question("and who led the offensive?", HAMA, None) == "who led the offensive (Hama)?"
    assert condense_question("and who led the offensive?", [], None) == "and who led the offensive?"
