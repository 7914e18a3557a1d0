"""The gold set: loading and validating eval/gold.jsonl (format in eval/README.md).

Data shapes:
    gold line   {"id", "question", "answers"?: [str], "answers_all"?: [str], "supporting_docs"?: [doc stem],
                 "type"?: str, "answerable"?: bool, "as_of"?: "YYYY-MM-DD", "note"?: str,
                 ...unknown keys kept in GoldItem.extra and otherwise ignored}

Read leniently, so gold files written for other corpora work: a numeric `id` and a lone answer string
(`"answers": "$48 million"`) read as meant; `answers` (when `answers_all` is given or the
question is marked unanswerable), `answers_all` and `supporting_docs` default to
empty (document metrics then do not apply), `answerable` to whether any answer is given, `type` to
"factoid" (or "unanswerable"). A known type keeps its meaning (an "unanswerable" item must be refused, a
"conflict" one must cite every supporting article); any other label is just a slice of the report.
`as_of` is the day the question is asked as of (`Assistant.ask(..., as_of=...)`).
    doc stem    the article's file name without extension: "000_0acf8dbdca9c3ed5" for doc_id
                "000_0acf8dbdca9c3ed5.txt" (or "sub/000_0acf8dbdca9c3ed5.txt")

Bad lines raise one `RagError` naming the file and line of each (up to 20), so `rag eval` prints them all
without a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from rag.errors import RagError

TYPES = ("factoid", "numeric", "temporal", "list", "multi-doc", "conflict", "unanswerable", "paraphrase")
_REQUIRED: dict[str, type] = {"id": str, "question": str}
_OPTIONAL: dict[str, type] = {"answers": list, "answers_all": list, "supporting_docs": list, "type": str,
                              "answerable": bool, "note": str, "as_of": str}


@dataclass
class GoldItem:
    """One gold question. `answers`: any one must appear; `answers_all`: every entry must ("a|b" = a or b)."""

    id: str
    question: str
    answers: list[str]
    answers_all: list[str]
    supporting_docs: list[str]  # doc stems
    type: str
    answerable: bool
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # keys this loader does not know, kept as they are
    as_of: date | None = None  # ask the question as of this day (None: today)


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file (blank lines skipped); raise `RagError` naming the line of any bad entry."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise RagError(f"Gold set {path} not found; pass a .jsonl file (see eval/README.md).") from exc
    items: list[GoldItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = _gold_item(_json_line(line, where), where)
        except RagError as exc:
            problems.append(str(exc))  # every bad line is named at once, not one per run
            continue
        if item.id in seen:
            problems.append(f"{where}: duplicate id {item.id!r}; every question needs its own id.")
        seen.add(item.id)
        items.append(item)
    if problems:
        shown = problems[:_MAX_PROBLEMS] + ([f"... and {len(problems) - _MAX_PROBLEMS} more"]
                                            if len(problems) > _MAX_PROBLEMS else [])
        head = "" if len(problems) == 1 else f"{len(problems)} bad lines in {path}:\n  "
        raise RagError(head + "\n  ".join(shown))
    if not items:
        raise RagError(f"Gold set {path} holds no questions.")
    return items


_MAX_PROBLEMS = 20


def _json_line(line: str, where: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise RagError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from exc


def _gold_item(raw: Any, where: str) -> GoldItem:
    if not isinstance(raw, dict):
        raise RagError(f"{where}: expected a JSON object, got {type(raw).__name__}.")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise RagError(f"{where}: missing field(s) {', '.join(missing)}.")
    raw = dict(raw)
    # Other datasets number their questions and give a lone answer as a string: both read as meant.
    if isinstance(raw["id"], int) and not isinstance(raw["id"], bool):
        raw["id"] = str(raw["id"])
    for key in ("answers", "answers_all", "supporting_docs"):
        if isinstance(raw.get(key), str):
            raw[key] = [raw[key]]
    for key, kind in (_REQUIRED | _OPTIONAL).items():
        if key in raw and raw[key] is not None and not isinstance(raw[key], kind):
            got = type(raw[key]).__name__
            raise RagError(f"{where}: field {key!r} must be a {kind.__name__}, not {got}.")
    if not raw["question"].strip():
        raise RagError(f"{where}: the question is empty.")
    says_unanswerable = raw.get("answerable") is False or raw.get("type") == "unanswerable"
    if "answers" not in raw and "answers_all" not in raw and not says_unanswerable:
        # Without this, a row that only forgot its answers would be scored as one that must be refused.
        raise RagError(f"{where}: missing field(s) answers (or answers_all); a question the articles do not "
                       f"answer says \"answerable\": false.")
    answers, answers_all = list(raw.get("answers") or []), list(raw.get("answers_all") or [])
    supporting = list(raw.get("supporting_docs") or [])
    for key, values in (("answers", answers), ("answers_all", answers_all), ("supporting_docs", supporting)):
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise RagError(f"{where}: field {key!r} must hold non-empty strings only.")
    if any(not alt.strip() for entry in answers_all for alt in entry.split("|")):
        raise RagError(f"{where}: an answers_all entry has an empty '|' alternative.")
    answerable = raw.get("answerable")
    if answerable is None:
        answerable = bool(answers or answers_all) and raw.get("type") != "unanswerable"
    kind = str(raw.get("type") or ("factoid" if answerable else "unanswerable")).strip()
    if kind == "unanswerable" and answerable:
        raise RagError(f"{where}: type 'unanswerable' needs \"answerable\": false.")
    if answerable and not (answers or answers_all):
        raise RagError(f"{where}: an answerable question needs 'answers' or 'answers_all'.")
    if kind == "conflict" and not supporting:
        raise RagError(f"{where}: a 'conflict' question needs 'supporting_docs' (both sides must be cited).")
    extra = {k: v for k, v in raw.items() if k not in _REQUIRED and k not in _OPTIONAL}
    return GoldItem(raw["id"], raw["question"], answers, answers_all, supporting, kind, answerable,
                    raw.get("note") or "", extra, _as_of(raw.get("as_of"), where))


def _as_of(value: str | None, where: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError as exc:
        raise RagError(f"{where}: 'as_of' {value!r} is not a date like 2025-02-14.") from exc


def doc_stem(doc_id: str) -> str:
    """The gold id of an article: its file name without extension ("a/000_x.txt" -> "000_x")."""
    return PurePosixPath(doc_id.replace("\\", "/")).stem
