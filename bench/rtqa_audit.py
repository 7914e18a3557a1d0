"""Switch each answerer mechanism off, one at a time, and count what it is worth on several samples at once.

    PYTHONPATH=. nice -n 5 python -m bench.rtqa_audit \\
        --sample dev=/work/rtqa/dev,/work/rtqa/index --sample b=/work/rtqa/dev-b,/work/rtqa/index-b \\
        [--only kind_bonus type_weight] [--set min_support=0.42]

A rule earns its place when switching it off loses, on every sample rather than on the one it was built
on. For each `AnswerConfig` field in `OFF` this asks every sample's questions (as `rtqa_answers.py` does:
as of the quiz day, indexes opened read only) with that field at its "off" value, and prints the change in
"right" per sample, pooled right / wrong / short right, and the exact sign test over the questions whose
"right" changed. Only totals are printed, never a question, so it can be run on a sample kept unread.
`--set` changes the baseline itself (to audit a candidate configuration). About 15 s per sample and row
on two idle cores.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from bench.rtqa_answers import ask_and_classify, sign_test

# Each mechanism's "off": the value at which its code path does nothing (a weight of 0, a threshold no
# answer can pass, or, named as another field, the value that makes two cases one). Fields not listed
# have no such value (the two sides' weights in the sentence score, `min_support`, the vote's pool,
# margin, temperature and weight's companions, `second_source`, the disagreement thresholds).
OFF: dict[str, Any] = {
    "kind_bonus": 0.0,
    "kind_weak_bonus": "kind_bonus",  # a year counts as a day
    "date_off_event_bonus": "kind_bonus",  # a date beside none of the event words counts fully
    "hint_bonus": 0.0,
    "kind_penalty": 0.0,
    "date_penalty": 0.0,
    "focus_penalty": 0.0,
    "context_discount": 0.0,
    "asking_share": 0.0,
    "rank_penalty": 0.0,
    "recency_penalty": 0.0,
    "window_penalty": 0.0,
    "describe_similarity": 0.0,
    "part_floor": 1.0,
    "pair_doc_bonus": 0.0,
    "redundancy_weight": 0.0,
    "headline_vote": 0.0,
    "winner_margin": 0.0,
    "who_type": "",
    "type_weight": 0.0,
    "apposition_weight": 0.0,
    "gazetteer": False,
    "people_fit": 0.0,
    "plain_name_margin": 10.0,  # never the plain form
}


@dataclass(frozen=True)
class Sample:
    """One exported RealTimeQA sample: its folder (gold.jsonl) and the index built from its articles."""

    name: str
    data: Path
    index: Path


@dataclass(frozen=True)
class Tally:
    """The outcomes of one configuration on one sample, by question id."""

    right: frozenset[str]
    wrong: int
    short_right: int
    n: int


def parse_sample(text: str) -> Sample:
    """NAME=DATA_DIR,INDEX_DIR."""
    name, sep, rest = text.partition("=")
    data, comma, index = rest.partition(",")
    if not (sep and comma and name and data and index):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=DATA_DIR,INDEX_DIR")
    return Sample(name, Path(data), Path(index))


def run(sample: Sample, answer_config: Any) -> Tally:
    """Every question of the sample, answered with this answerer configuration."""
    from rag.assistant import Assistant
    from rag.eval.gold import load_gold
    from rag.settings import Settings

    # The environment's other settings (RAG_TOP_K, ...) apply as in rtqa_answers.py. A seeds folder that
    # does not exist: the assistant never ingests into the (shared) index.
    settings = Settings.from_env().with_(data_dir=sample.index, llm="extractive",
                                         seeds_dir=sample.index / "no-seeds-here", answer=answer_config)
    assistant = Assistant(settings)
    if assistant.store.count() == 0:
        raise SystemExit(f"{sample.index} holds no articles: build it with `rag ingest` first")
    rows = [ask_and_classify(assistant, item)[1] for item in load_gold(sample.data / "gold.jsonl")]
    return Tally(right=frozenset(r["id"] for r in rows if r["verdict"] == "right"),
                 wrong=sum(r["verdict"] == "wrong" for r in rows),
                 short_right=sum(r["short_right"] for r in rows), n=len(rows))


def audit_row(label: str, base: dict[str, Tally], off: dict[str, Tally]) -> str:
    """One table row: right per sample, pooled right / wrong / short right changes, and the sign test."""
    per = " / ".join(f"{len(off[s].right) - len(base[s].right):+d}" for s in base)
    gained = sum(len(off[s].right - base[s].right) for s in base)
    lost = sum(len(base[s].right - off[s].right) for s in base)
    wrong = sum(off[s].wrong - base[s].wrong for s in base)
    short = sum(off[s].short_right - base[s].short_right for s in base)
    return (f"| `{label}` | {per} | {gained - lost:+d} (+{gained} -{lost}, p={sign_test(gained, lost):.2f})"
            f" | {wrong:+d} | {short:+d} |")


def off_value(name: str, config: Any) -> Any:
    """The value that switches `name` off in this configuration."""
    off = OFF[name]
    return getattr(config, off) if isinstance(off, str) and off in OFF else off


def main(argv: list[str] | None = None) -> int:
    import os

    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=parse_sample, action="append", required=True,
                        help="NAME=DATA_DIR,INDEX_DIR (a `realtimeqa.py export` folder and its index); repeatable")
    parser.add_argument("--only", nargs="+", choices=sorted(OFF), default=None, help="audit these fields only")
    parser.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE",
                        help="change the baseline configuration first")
    args = parser.parse_args(argv)

    # The baseline is what RAG_ANSWER_* says, with --set on top, read by the one parser Settings has.
    overrides = {}
    for item in args.set:
        name, eq, value = item.partition("=")
        if not eq or name not in {f.name for f in fields(type(Settings().answer))}:
            parser.error(f"--set {item}: expected FIELD=VALUE with an AnswerConfig field")
        overrides[f"RAG_ANSWER_{name.upper()}"] = value
    base_config = Settings.from_env({**os.environ, **overrides}).answer

    samples: list[Sample] = args.sample
    # Checked before any work: opening a mistyped index path would create an empty index there.
    for s in samples:
        if not (s.data / "gold.jsonl").is_file():
            parser.error(f"--sample {s.name}: {s.data / 'gold.jsonl'} not found (a `realtimeqa.py export` folder)")
        if not s.index.is_dir():
            parser.error(f"--sample {s.name}: no index at {s.index} (build it with `rag ingest`)")
    if len({s.name for s in samples}) < len(samples):
        parser.error("--sample: each sample needs its own name")
    base = {s.name: run(s, base_config) for s in samples}
    print("baseline: " + ", ".join(f"{s} {len(t.right)}/{t.n} right ({t.wrong} wrong, {t.short_right} short right)"
                                   for s, t in base.items()))
    print(f"| switched off | right per sample ({' / '.join(base)}) | right pooled | wrong | short right |")
    print("|---|---:|---:|---:|---:|")
    for name in args.only or list(OFF):
        value = off_value(name, base_config)
        config = replace(base_config, **{name: value})
        if config == base_config:
            print(f"| `{name}` | already off in the baseline | | | |")
            continue
        off = {s.name: run(s, config) for s in samples}
        print(audit_row(f"{name}={value!r}", base, off), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
