"""Load article files (txt, md, html, json, jsonl) into cleaned `Article`s.

One bad file never stops a load: it is named in `LoadResult.skipped` with a reason a user can act on.

Metadata comes from three places; a later one overrides an earlier one field by field:
1. the text itself (`rag.ingest.clean`: headline, dateline, sign-off),
2. the format's own fields (HTML meta tags via trafilatura, markdown front matter, JSON record fields),
3. a sidecar ``NAME.meta.json`` next to ``NAME.ext`` with any of title, outlet, published, url. A sidecar
   next to a .json/.jsonl file applies to every record in it. Its bytes are part of the content hash,
   so editing a sidecar re-ingests the article.

`doc_id` is the path relative to the folder given (posix), or the file name for a single file; a JSON
record's is ``file.jsonl#N`` (N counts records from 1; for .jsonl it is the line number) or
``file.jsonl#ID`` when the record has an ``id``. Hidden files and folders, sidecars and folder READMEs
(README.md/.txt) are not articles and are passed over silently; a sidecar whose article is missing is
named in `skipped`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import trafilatura

from rag.errors import RagError
from rag.ingest.clean import Cleaned, clean_article
from rag.models import Article
from rag.text.dates import parse_date_value
from rag.text.lexicon import LEXICON_FILE

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_FIELDS = ("title", "outlet", "published", "url")

# JSON record fields we read, first present wins: scrapers disagree on names.
_TEXT_KEYS = ("text", "content", "body")
_DATE_KEYS = ("published", "date")
_OUTLET_KEYS = ("outlet", "source")


@dataclass
class LoadResult:
    """The articles loaded, and the files (or records) skipped with a human reason."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id-like name, reason)


@dataclass
class _Meta:
    """Metadata from a format or a sidecar; None means "not given"."""

    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    url: str | None = None


class _Skip(Exception):
    """One file or record cannot become an article; the message says why."""


def load_path(path: Path) -> LoadResult:
    """Load every supported article under `path` (a file, or a folder searched recursively)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise RagError(f"{path} does not exist. Give a folder or a file of articles "
                       "(txt, md, html, json, jsonl).")
    result = LoadResult()
    root = path if path.is_dir() else path.parent
    for file in _candidate_files(path):
        rel = file.relative_to(root).as_posix()
        try:
            _load_file(file, rel, result)
        except _Skip as reason:
            result.skipped.append((rel, str(reason)))
        except OSError as exc:
            result.skipped.append((rel, f"could not be read ({exc.strerror or exc})"))
    return result


def _candidate_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*")):
        hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
        # A folder's README describes the folder (seeds/README.md); it is not one of its articles.
        readme = file.stem.lower() == "readme" and file.suffix.lower() in (".md", ".txt")
        # A folder's lexicon.json is its name variants and word groups (rag.text.lexicon), not an article.
        lexicon = file.name == LEXICON_FILE
        if file.is_file() and not hidden and not readme and not lexicon:
            yield file


def _load_file(file: Path, rel: str, result: LoadResult) -> None:
    """Append the file's article(s) to `result`, or raise `_Skip` for the whole file."""
    name = file.name
    if name.lower().endswith(SIDECAR_SUFFIX):
        if not _has_article(file):
            raise _Skip("metadata sidecar with no article file of the same name next to it")
        return
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _Skip(f"unsupported file type {suffix or '(no extension)'}; use txt, md, html, json or jsonl")
    raw = file.read_bytes()
    _check_raw(raw)
    sidecar_bytes, sidecar = _read_sidecar(file)
    if suffix in JSON_SUFFIXES:
        _load_records(raw, sidecar_bytes, sidecar, rel, name, suffix, result)
        return
    cleaned, meta = _parse_text_file(raw, suffix)
    if not cleaned.text:
        raise _Skip("no article text left after removing site navigation and markup")
    article = _article(rel, name, cleaned, meta, sidecar, _hash(raw, sidecar_bytes))
    result.articles.append(article)


def _check_raw(raw: bytes) -> None:
    if not raw.strip():
        raise _Skip("empty file")
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Skip("binary file, not text")


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Guessing another encoding would turn accents into mojibake inside quotes we cite.
        raise _Skip(f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from exc


def _hash(raw: bytes, sidecar_bytes: bytes) -> str:
    return hashlib.sha256(raw + sidecar_bytes).hexdigest()


# --- sidecars ---------------------------------------------------------------------------------------


def _sidecar_path(file: Path) -> Path:
    return file.with_name(file.stem + SIDECAR_SUFFIX)


def _has_article(sidecar: Path) -> bool:
    stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
    names = {stem + suffix for s in SUPPORTED_SUFFIXES for suffix in (s, s.upper())}
    return any((sidecar.parent / name).is_file() for name in names)


def _read_sidecar(file: Path) -> tuple[bytes, _Meta]:
    """The sidecar's bytes (for the hash) and its fields; a broken sidecar skips its article."""
    path = _sidecar_path(file)
    if not path.is_file():
        return b"", _Meta()
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Skip(f"its sidecar {path.name} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise _Skip(f"its sidecar {path.name} must hold a JSON object")
    unknown = sorted(set(data) - set(SIDECAR_FIELDS))
    if unknown:
        allowed = ", ".join(SIDECAR_FIELDS)
        raise _Skip(f"its sidecar {path.name} has unknown fields {unknown}; allowed: {allowed}")
    published = None
    if data.get("published"):
        published = parse_date_value(str(data["published"]))
        if published is None:
            value = data["published"]
            raise _Skip(f"its sidecar {path.name} has an unreadable date {value!r}; use YYYY-MM-DD")
    return raw, _Meta(title=_str(data.get("title")), outlet=_str(data.get("outlet")), published=published,
                      url=_str(data.get("url")))


# --- text formats -----------------------------------------------------------------------------------


def _parse_text_file(raw: bytes, suffix: str) -> tuple[Cleaned, _Meta]:
    if suffix in (".html", ".htm"):
        return _parse_html(raw)
    text = _decode(raw)
    if suffix in (".md", ".markdown"):
        front, text = _split_front_matter(text)
        return clean_article(markdown_to_text(text)), front
    return clean_article(text), _Meta()


def _parse_html(raw: bytes) -> tuple[Cleaned, _Meta]:
    try:
        # trafilatura gets the bytes so it can honour the page's declared charset.
        doc = trafilatura.bare_extraction(
            raw,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # extensive_search would turn a "© 2024" footer into a made-up 2024-01-01 publication date.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # lxml and trafilatura raise many types on broken markup; one page must not stop a load
        raise _Skip(f"could not parse the HTML ({type(exc).__name__}: {exc})") from exc
    if doc is None or not (doc.text or "").strip():
        raise _Skip("no article text found in the HTML page")
    meta = _Meta(
        title=_str(doc.title),
        outlet=_str(doc.sitename),
        published=parse_date_value(doc.date) if doc.date else None,
        url=_str(doc.url),
    )
    return clean_article(doc.text), meta


_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<body>.*?)\n---\s*\n", re.DOTALL)
_FRONT_KEYS = {"title": "title", "outlet": "outlet", "source": "outlet", "url": "url",
               "published": "published", "date": "published"}


def _split_front_matter(text: str) -> tuple[_Meta, str]:
    """Simple ``key: value`` YAML front matter (as static-site generators write) and the rest."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return _Meta(), text
    values: dict[str, str] = {}
    for line in match.group("body").splitlines():
        key, sep, value = line.partition(":")
        field_name = _FRONT_KEYS.get(key.strip().lower())
        if sep and field_name and field_name not in values:
            values[field_name] = value.strip().strip("'\"")
    published = parse_date_value(values["published"]) if values.get("published") else None
    meta = _Meta(title=values.get("title") or None, outlet=values.get("outlet") or None,
                 published=published, url=values.get("url") or None)
    return meta, text[match.end():]


_MD_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s*```.*$|^\s*~~~.*$", re.MULTILINE), ""),  # code fences (keep the code)
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE), r"\1"),  # ATX headings
    (re.compile(r"^\s*(?:[-*_]\s*){3,}$|^\s*=+\s*$", re.MULTILINE), ""),  # rules, setext underlines
    (re.compile(r"^\s*\[[^\]]+\]:\s+\S+.*$", re.MULTILINE), ""),  # link reference definitions
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # inline links keep their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _italic_ (not snake_case)
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # inline code
    (re.compile(r"^\s*>\s?", re.MULTILINE), ""),  # blockquote markers
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),  # inline HTML tags
]


def markdown_to_text(markdown: str) -> str:
    """Strip markdown markup lightly: headings, emphasis, links, images, quotes; list items stay."""
    text = markdown
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


# --- JSON -------------------------------------------------------------------------------------------


def _load_records(raw: bytes, sidecar_bytes: bytes, sidecar: _Meta, rel: str, name: str, suffix: str,
                  result: LoadResult) -> None:
    text = _decode(raw)
    seen: set[str] = set()
    for number, record, record_bytes in _records(text, suffix, rel):
        label = f"{rel}#{number}"
        try:
            if isinstance(record, _Invalid):
                raise _Skip(f"invalid JSON ({record.error})")
            if not isinstance(record, dict):
                raise _Skip("not a JSON object")
            doc_id = f"{rel}#{record['id']}" if record.get("id") not in (None, "") else label
            if doc_id in seen:
                raise _Skip(f"duplicate id {record['id']!r} in {name}")
            seen.add(doc_id)
            article = _record_article(record, doc_id, name, sidecar, _hash(record_bytes, sidecar_bytes))
        except _Skip as reason:
            result.skipped.append((label, str(reason)))
            continue
        result.articles.append(article)


def _records(text: str, suffix: str, rel: str) -> Iterator[tuple[int, Any, bytes]]:
    """(number, record, bytes) for each record; a file that is not JSON at all is skipped whole."""
    if suffix == ".jsonl":
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), line.encode("utf-8")
            except json.JSONDecodeError as exc:
                yield number, _Invalid(str(exc)), line.encode("utf-8")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Skip(f"not valid JSON ({exc})") from exc
    records = data if isinstance(data, list) else [data]
    if not records:
        raise _Skip("JSON list with no records")
    for number, record in enumerate(records, start=1):
        yield number, record, json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")


@dataclass
class _Invalid:
    """A JSONL line that did not parse; reported as that record's skip reason."""

    error: str


def _record_article(record: dict[str, Any], doc_id: str, name: str, sidecar: _Meta,
                    content_hash: str) -> Article:
    body = next((record[k] for k in _TEXT_KEYS if isinstance(record.get(k), str) and record[k].strip()), None)
    if body is None:
        raise _Skip(f"record has no text (expected a non-empty {' / '.join(_TEXT_KEYS)} field)")
    cleaned = clean_article(body)
    if not cleaned.text:
        raise _Skip("no article text left after removing site navigation")
    date_value = next((str(record[k]) for k in _DATE_KEYS if record.get(k)), None)
    meta = _Meta(
        title=_str(record.get("title")),
        outlet=_str(next((record[k] for k in _OUTLET_KEYS if record.get(k)), None)),
        # Scraped dates come in many shapes; an unreadable one leaves the dateline's (or none).
        published=parse_date_value(date_value) if date_value else None,
        url=_str(record.get("url")),
    )
    return _article(doc_id, name, cleaned, meta, sidecar, content_hash)


# --- assembly ---------------------------------------------------------------------------------------


def _article(doc_id: str, source: str, cleaned: Cleaned, meta: _Meta, sidecar: _Meta,
             content_hash: str) -> Article:
    """Merge text, format and sidecar metadata (later wins) into an Article."""
    merged = _Meta(cleaned.title, cleaned.outlet, cleaned.published)
    for layer in (meta, sidecar):
        merged = _Meta(
            title=layer.title or merged.title,
            outlet=layer.outlet or merged.outlet,
            published=layer.published or merged.published,
            url=layer.url or merged.url,
        )
    return Article(doc_id=doc_id, text=cleaned.text, source=source, title=merged.title, outlet=merged.outlet,
                   published=merged.published, url=merged.url, content_hash=content_hash)


def _str(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
