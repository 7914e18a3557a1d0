"""Prompt templates are plain files in ``prompts/``, loaded by name; no prompt text lives in Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import RagError


def load_prompt(prompts_dir: Path, name: str) -> str:
    """Return the text of ``prompts/<name>.txt``."""
    path = prompts_dir / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RagError(f"Prompt template {path} is missing; restore it from the repository.") from exc


def render_prompt(prompts_dir: Path, name: str, **values: str) -> str:
    """Load ``prompts/<name>.txt`` and fill its ``{placeholders}`` (str.format syntax) from `values`."""
    template = load_prompt(prompts_dir, name)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise RagError(
            f"Prompt template {prompts_dir / (name + '.txt')} has a bad placeholder ({exc}); it may use only "
            f"{', '.join('{' + k + '}' for k in values)}, and literal braces must be doubled."
        ) from exc


def load_schema(prompts_dir: Path, name: str) -> dict[str, Any]:
    """Return the JSON schema in ``prompts/<name>.json`` (the shape a structured reply must have)."""
    path = prompts_dir / f"{name}.json"
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RagError(f"Reply schema {path} is missing; restore it from the repository.") from exc
    except json.JSONDecodeError as exc:
        raise RagError(f"Reply schema {path} is not valid JSON ({exc}); fix it or restore it.") from exc
    if not isinstance(schema, dict):
        raise RagError(f"Reply schema {path} must be a JSON object (a JSON schema).")
    return schema
