"""The paired comparison bench/rtqa_answers.py prints for --compare: pure arithmetic over its JSON rows."""

from __future__ import annotations

import pytest

from bench.rtqa_answers import compare, sign_test


def test_sign_test_is_the_exact_two_sided_binomial() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)
    assert sign_test(3, 1) == pytest.approx(2 * 5 / 16)
    assert sign_test(1, 3) == sign_test(3, 1)
    assert sign_test(2, 2) == 1.0


def test_compare_counts_gains_and_losses_per_outcome_without_question_text() -> None:
    def row(i: int, verdict: str, short_right: bool, short: str = "x") -> dict:
        return {"id": f"q{i}", "question": f"secret question {i}", "verdict": verdict,
                "short_right": short_right, "short": short}

    before = [row(1, "other", False), row(2, "right", False), row(3, "right", True), row(4, "wrong", False)]
    after = [row(1, "right", True, "y"), row(2, "right", True, "y"), row(3, "other", False, "y"),
             row(4, "wrong", False)]
    text = compare(after, before)
    assert "4 questions" in text
    assert "right +1 -1" in text and "short right +2 -1" in text
    assert "answers changed 3" in text
    assert "secret" not in text


def test_compare_reads_an_older_file_without_short_answers() -> None:
    before = [{"id": "q1", "verdict": "other", "short": "x"}, {"id": "q2", "verdict": "right", "short": "y"}]
    after = [{"id": "q1", "verdict": "right", "short": "z", "short_right": True},
             {"id": "q2", "verdict": "right", "short": "y", "short_right": True}]
    text = compare(after, before)
    assert "right +1 -0" in text and "short right" not in text
