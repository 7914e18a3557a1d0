"""bench/rtqa_audit.py's own logic: sample arguments, "off" values and the table row (pure arithmetic)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from bench.rtqa_audit import OFF, Tally, audit_row, off_value, parse_sample
from rag.settings import AnswerConfig


def test_a_sample_is_name_data_and_index() -> None:
    s = parse_sample("dev=/data/dev,/data/index")
    assert (s.name, s.data, s.index) == ("dev", Path("/data/dev"), Path("/data/index"))
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=DATA_DIR,INDEX_DIR"):
        parse_sample("dev=/data/dev")


def test_every_off_value_names_a_field_and_switches_it_off() -> None:
    names = {f.name for f in fields(AnswerConfig)}
    config = AnswerConfig()
    assert set(OFF) <= names
    for name in OFF:
        assert off_value(name, config) != getattr(config, name), name  # otherwise the row measures nothing
    assert off_value("kind_weak_bonus", config) == config.kind_bonus  # "a year counts as a day"


def test_a_row_counts_gains_and_losses_across_samples() -> None:
    base = {"a": Tally(frozenset({"1", "2"}), wrong=1, short_right=2, n=4),
            "b": Tally(frozenset({"5"}), wrong=0, short_right=1, n=3)}
    off = {"a": Tally(frozenset({"1"}), wrong=2, short_right=1, n=4),
           "b": Tally(frozenset({"5", "6", "7"}), wrong=0, short_right=1, n=3)}
    row = audit_row("x=0", base, off)
    assert row.startswith("| `x=0` | -1 / +2 |")
    assert "+1 (+2 -1, p=1.00)" in row and row.endswith("| +1 | -1 |")


def test_a_missing_sample_is_named_before_any_index_is_opened(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from bench.rtqa_audit import main

    (tmp_path / "gold.jsonl").write_text("", encoding="utf-8")
    index = tmp_path / "no-index"
    with pytest.raises(SystemExit) as exc:
        main(["--sample", f"s={tmp_path},{index}"])
    assert exc.value.code == 2 and "no index at" in capsys.readouterr().err
    assert not index.exists()  # a mistyped path is not created as an empty index
