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
``file.jsonl#ID`` when the record has an ``id``.

Every entry of the folder is accounted for in `LoadResult`: hidden files and folders and folder READMEs
(README.md/.txt) are ignored on purpose, sidecars are listed as such (a sidecar whose article is missing,
or which is broken, is skipped and named), and anything else that is not loaded is skipped with a reason:
symbolic links that leave the folder, dangle, loop or point at folders; named pipes, sockets and devices;
files over the size cap (RAG_MAX_FILE_MB) and HTML pages over the element cap (RAG_MAX_HTML_ELEMENTS).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lxml.etree
import trafilatura

from rag.errors import RagError
from rag.ingest.clean import Cleaned, clean_article
from rag.models import Article
from rag.settings import Settings
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
    """Every entry of the folder, accounted for: articles loaded, sidecars used, entries skipped with a
    human reason, and entries passed over on purpose (hidden, READMEs) with why."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id-like name, reason)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (name, why it is not an article)
    files: list[str] = field(default_factory=list)  # article files read (a JSON file may hold many)
    sidecars: list[str] = field(default_factory=list)  # NAME.meta.json files applied to their article
    entries: int = 0  # entries seen: every file, link, pipe... and each folder skipped or ignored whole


@dataclass
class _Meta:
    """Metadata from a format or a sidecar; None means "not given"."""

    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    url: str | None = None


class _Skip(Exception):
    """One file or record cannot become an article; the message says why."""


@dataclass(frozen=True)
class _Context:
    """What every file of one load shares: the folder nothing may be read outside of, and the caps."""

    root: Path  # resolved
    max_file_mb: float
    max_html_elements: int

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def load_path(path: Path, settings: Settings | None = None) -> LoadResult:
    """Load every supported article under `path` (a file, or a folder searched recursively).

    Nothing outside `path` is read: symbolic links are followed only to regular files inside it. Any
    error while reading or parsing one file skips that file (named, with the reason) and never the load.
    """
    settings = settings or Settings()
    path = Path(path).expanduser()
    if not path.exists():
        raise RagError(f"{path} does not exist. Give a folder or a file of articles "
                       "(txt, md, html, json, jsonl).")
    result = LoadResult()
    root = path if path.is_dir() else path.parent
    ctx = _Context(root.resolve(), settings.max_file_mb, settings.max_html_elements)
    if path.is_dir():
        files: Iterator[tuple[Path, str]] | list[tuple[Path, str]] = _walk(path, path, result)
    else:
        files, result.entries = [(path, path.name)], 1
    for file, rel in files:
        try:
            _load_file(file, rel, result, ctx)
        except _Skip as reason:
            result.skipped.append((rel, str(reason)))
        except OSError as exc:
            result.skipped.append((rel, f"could not be read ({exc.strerror or exc})"))
        except RecursionError:
            result.skipped.append((rel, "nested too deeply to parse"))
        except Exception as exc:  # one file must never stop an ingest, whatever its parser raises
            result.skipped.append((rel, f"could not be loaded ({_describe(exc)})"))
    return result


def _walk(folder: Path, root: Path, result: LoadResult) -> Iterator[tuple[Path, str]]:
    """(path, relative name) of each file to load, in name order; every other entry is recorded in
    `result` as skipped or ignored. Symlinked folders are never entered, so a link loop cannot recurse."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        result.skipped.append((folder.relative_to(root).as_posix() or ".",
                               f"folder could not be listed ({exc.strerror or exc})"))
        return
    for entry in entries:
        entry_path = Path(entry.path)
        rel = entry_path.relative_to(root).as_posix()
        try:
            why_not = _not_an_article(entry, entry_path, root)
        except OSError as exc:  # e.g. no permission to look at a link's target
            why_not = False, f"could not be examined ({exc.strerror or exc})"
        if why_not is not None:
            ignored, reason = why_not
            (result.ignored if ignored else result.skipped).append((rel, reason))
            result.entries += 1
        elif entry.is_dir(follow_symlinks=False):
            if entry_path.suffix.lower() in SUPPORTED_SUFFIXES:  # "x.txt/" would otherwise pass unnoticed
                result.skipped.append((rel, f"a folder, not an article file, despite its {entry_path.suffix} "
                                            "name; the files inside it are read on their own"))
                result.entries += 1
            yield from _walk(entry_path, root, result)
        else:
            result.entries += 1
            yield entry_path, rel


def _not_an_article(entry: os.DirEntry[str], path: Path, root: Path) -> tuple[bool, str] | None:
    """(ignored on purpose?, reason) for an entry that is not loaded as a file; None to load or descend."""
    name = entry.name
    if not _valid_unicode(name):
        return False, "its name is not valid UTF-8; rename it"
    if name.startswith("."):
        return True, "hidden " + ("folder" if entry.is_dir(follow_symlinks=False) else "file")
    if entry.is_symlink():
        problem = link_problem(path, root.resolve())
        return (False, problem) if problem else None
    if entry.is_dir(follow_symlinks=False):
        return None
    if not entry.is_file(follow_symlinks=False):
        return False, f"not a regular file ({_file_kind(path)}); only files are read"
    # A folder's README describes the folder (seeds/README.md); it is not one of its articles.
    if Path(name).stem.lower() == "readme" and Path(name).suffix.lower() in (".md", ".txt"):
        return True, "folder README, not an article"
    # A folder's lexicon.json is its name variants and word groups (rag.text.lexicon), not an article.
    if name == LEXICON_FILE:
        return True, "folder lexicon (name variants and word groups), not an article"
    return None


def link_problem(link: Path, root: Path) -> str | None:
    """Why the symbolic link `link` must not be read (`root` resolved), or None for a link to a regular
    file inside `root`. Links to folders are not followed either: their files are read where they are."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return "dangling symbolic link (its target does not exist)"
    except (RuntimeError, OSError):  # RuntimeError: Python < 3.13's "Symlink loop"; OSError ELOOP after
        return "symbolic link loop (it points back at itself)"
    if not target.is_relative_to(root):
        return f"symbolic link to {target}, outside the folder being ingested; not followed"
    if target.is_dir():
        return "symbolic link to a folder; not followed (the folder's files are read where they are)"
    if not target.is_file():
        return f"symbolic link to something that is not a regular file ({_file_kind(target)})"
    return None


def _file_kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        return "unreadable"
    kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
    return next((label for test, label in kinds if test(mode)), "not a regular file")


def _read_inside(path: Path, ctx: _Context, what: str = "file") -> bytes:
    """The bytes of `path`, refusing links that leave the folder, non-regular files and files over the cap.

    The final open does not follow links and does not block (a FIFO swapped in after the walk would
    otherwise hang the ingest); the size is checked on the open file and again on what is read.
    """
    target = path
    if path.is_symlink():
        problem = link_problem(path, ctx.root)
        if problem:
            raise _Skip(problem if what == "file" else f"its {what} {path.name} is a {problem}")
        target = path.resolve(strict=True)
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _Skip(f"not a regular file ({_file_kind(target)}); only files are read")
        raw = fh.read(ctx.max_bytes + 1)
    if info.st_size > ctx.max_bytes or len(raw) > ctx.max_bytes:
        size_mb = max(info.st_size, len(raw)) / 1024 / 1024
        raise _Skip(f"{size_mb:.3g} MB is over the {ctx.max_file_mb:g} MB cap per file "
                    f"(RAG_MAX_FILE_MB); split it or raise the cap")
    return raw


def _describe(exc: BaseException) -> str:
    """An exception as a short reason: its type and the start of its message (never a whole payload)."""
    message = str(exc)
    return f"{type(exc).__name__}: {message[:200]}{'…' if len(message) > 200 else ''}"


def _load_file(file: Path, rel: str, result: LoadResult, ctx: _Context) -> None:
    """Append the file's article(s) to `result`, or raise `_Skip` for the whole file."""
    name = file.name
    if name.lower().endswith(SIDECAR_SUFFIX):
        if not _has_article(file):
            raise _Skip("metadata sidecar with no article file of the same name next to it")
        _parse_sidecar(file, _read_inside(file, ctx))  # a broken one is named itself, not only its article
        result.sidecars.append(rel)
        return
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _Skip(f"unsupported file type {suffix or '(no extension)'}; use txt, md, html, json or jsonl")
    raw = _read_inside(file, ctx)
    _check_raw(raw)
    sidecar_bytes, sidecar = _read_sidecar(file, ctx)
    if suffix in JSON_SUFFIXES:
        _load_records(raw, sidecar_bytes, sidecar, rel, name, suffix, result)
        result.files.append(rel)
        return
    cleaned, meta = _parse_text_file(raw, suffix, ctx)
    if not cleaned.text:
        raise _Skip("no article text left after removing site navigation and markup")
    article = _article(rel, name, cleaned, meta, sidecar, _hash(raw, sidecar_bytes))
    result.files.append(rel)
    result.articles.append(article)


def _check_raw(raw: bytes) -> None:
    if not raw.strip():
        raise _Skip("empty file")
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Skip("binary file, not text")


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _Skip(f"not valid UTF-16 text (it starts with a UTF-16 byte order mark but breaks off at "
                        f"byte {exc.start}; truncated?)") from exc
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


def _read_sidecar(file: Path, ctx: _Context) -> tuple[bytes, _Meta]:
    """The sidecar's bytes (for the hash) and its fields; a broken sidecar skips its article."""
    path = _sidecar_path(file)
    if not (path.is_file() or path.is_symlink()):
        return b"", _Meta()
    raw = _read_inside(path, ctx, what="sidecar")
    try:
        return raw, _parse_sidecar(path, raw)
    except _Skip as reason:
        raise _Skip(f"its {reason}") from None


def _parse_sidecar(path: Path, raw: bytes) -> _Meta:
    """A sidecar's fields; raises `_Skip` naming the sidecar when it is broken."""
    try:
        data = load_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, _Skip) as exc:
        raise _Skip(f"sidecar {path.name} is not valid JSON ({_json_detail(exc)}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise _Skip(f"sidecar {path.name} must hold a JSON object")
    unknown = sorted(set(data) - set(SIDECAR_FIELDS))
    if unknown:
        allowed = ", ".join(SIDECAR_FIELDS)
        raise _Skip(f"sidecar {path.name} has unknown fields {unknown}; allowed: {allowed}")
    published = None
    if data.get("published"):
        published = parse_date_value(str(data["published"]))
        if published is None:
            value = data["published"]
            raise _Skip(f"sidecar {path.name} has an unreadable date {value!r}; use YYYY-MM-DD")
    return _Meta(title=_str(data.get("title")), outlet=_str(data.get("outlet")), published=published,
                 url=_str(data.get("url")))


def _json_detail(exc: Exception) -> str:
    """The parser's own words from a `load_json` reason, for wrapping in "not valid JSON (...)"."""
    text = str(exc)
    return text.removeprefix("not valid JSON (").removesuffix(")") if text.startswith("not valid JSON (") else text


def load_json(text: str) -> Any:
    """`json.loads`, with the ways hostile JSON breaks it turned into one `_Skip` reason."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Skip(f"not valid JSON ({exc})") from exc
    except RecursionError as exc:  # the C parser recurses once per nesting level
        raise _Skip("JSON nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise _Skip(f"JSON that cannot be read ({str(exc)[:120]})") from exc


# --- text formats -----------------------------------------------------------------------------------


def _parse_text_file(raw: bytes, suffix: str, ctx: _Context) -> tuple[Cleaned, _Meta]:
    if suffix in (".html", ".htm"):
        _check_html_size(raw, ctx.max_html_elements)
        return _parse_html(raw)
    text = _decode(raw)
    if suffix in (".md", ".markdown"):
        front, text = _split_front_matter(text)
        return clean_article(markdown_to_text(text)), front
    return clean_article(text), _Meta()


def _check_html_size(raw: bytes, cap: int) -> None:
    """Skip pages with more elements than `cap`: extraction costs about 0.1 ms per element (a page of
    500,000 <p> took 74 s), while counting them in lxml's parse costs under 1 % of that."""
    try:
        tree = lxml.etree.fromstring(raw, lxml.etree.HTMLParser(recover=True))
    except (lxml.etree.LxmlError, ValueError):
        return  # unparseable here: trafilatura gives the reason
    count = sum(1 for _ in tree.iter()) if tree is not None else 0
    if count > cap:
        raise _Skip(f"HTML page with {count:,} elements, over the cap of {cap:,} (RAG_MAX_HTML_ELEMENTS); "
                    "news pages have a few thousand")


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


def _heading(match: re.Match[str]) -> str:
    return match.group(1).rstrip(" \t#")  # closing hashes, stripped outside the regex to stay linear


# Every pattern runs in linear time: a span may not contain its own opening character ("[^\[\]\n]"
# for link text, "[^*\n]" for *italic*), so a scan from one opener stops at the next instead of running
# to the end of the line and backtracking. With ".+?" spans, 250 KB of "*_[" took 40 s to load.
_MD_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^[ \t]*```.*$|^[ \t]*~~~.*$", re.MULTILINE), ""),  # code fences (keep the code)
    (re.compile(r"^ {0,3}#{1,6}[ \t]+(.*)$", re.MULTILINE), _heading),  # ATX headings
    (re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$|^[ \t]*=+[ \t]*$", re.MULTILINE), ""),  # rules, setext underlines
    (re.compile(r"^[ \t]*\[[^\[\]\n]+\]:[ \t]+\S.*$", re.MULTILINE), ""),  # link reference definitions
    (re.compile(r"!\[[^\[\]\n]*\]\([^()\n]*\)"), ""),  # images
    (re.compile(r"\[([^\[\]\n]+)\]\([^()\n]*\)"), r"\1"),  # inline links keep their text
    (re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]"), r"\1"),  # reference links
    (re.compile(r"\*\*(?=\S)((?:[^*\n]|\*(?!\*))+?)(?<=\S)\*\*"), r"\1"),  # **bold**
    (re.compile(r"__(?=\S)((?:[^_\n]|_(?!_))+?)(?<=\S)__"), r"\1"),  # __bold__
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic*
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_\n]+?)(?<=\S)_(?!\w)"), r"\1"),  # _italic_ (not snake_case)
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # inline code
    (re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE), ""),  # blockquote markers
    (re.compile(r"</?[A-Za-z][^<>\n]*>"), ""),  # inline HTML tags
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
    for number, record, line in _records(text, suffix):
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
            record_bytes = _record_bytes(record, line)
            article = _record_article(record, doc_id, name, sidecar, _hash(record_bytes, sidecar_bytes))
        except _Skip as reason:
            result.skipped.append((label, str(reason)))
            continue
        except Exception as exc:  # one hostile record must not cost the file's other records
            result.skipped.append((label, f"could not be loaded ({_describe(exc)})"))
            continue
        result.articles.append(article)


def _record_bytes(record: dict[str, Any], line: str | None) -> bytes:
    """What a record's content hash covers: its JSONL line, or its canonical JSON."""
    text = line if line is not None else json.dumps(record, sort_keys=True, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Skip(_surrogate_reason(text, exc)) from exc


def _records(text: str, suffix: str) -> Iterator[tuple[int, Any, str | None]]:
    """(number, record, its JSONL line or None) for each record; a file that is not JSON at all is
    skipped whole."""
    if suffix == ".jsonl":
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                yield number, load_json(line), line
            except _Skip as exc:
                yield number, _Invalid(_json_detail(exc)), line
        return
    data = load_json(text)
    records = data if isinstance(data, list) else [data]
    if not records:
        raise _Skip("JSON list with no records")
    for number, record in enumerate(records, start=1):
        yield number, record, None


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
    for value in (doc_id, cleaned.text, merged.title, merged.outlet, merged.url):
        _check_unicode(value)
    return Article(doc_id=doc_id, text=cleaned.text, source=source, title=merged.title, outlet=merged.outlet,
                   published=merged.published, url=merged.url, content_hash=content_hash)


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # file names with undecodable bytes arrive as lone surrogates
        return False
    return True


def _check_unicode(value: str | None) -> None:
    """Refuse lone surrogates (JSON can spell "\\ud800"): no store can write them, so they would fail the
    whole ingest at the store instead of this one article here."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Skip(_surrogate_reason(value, exc)) from exc


def _surrogate_reason(text: str, exc: UnicodeEncodeError) -> str:
    return (f"holds a lone surrogate {text[exc.start]!r} at character {exc.start}, which is not valid Unicode; "
            "fix the text (a broken \\uXXXX escape?)")


def _str(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
