"""The testable parts of the chat UI: HTML for answers and sources, feedback logging, upload handling.

`app.py` only wires these to Gradio components. Everything here is plain Python over `Answer`,
`Citation` and `Assistant`, so it is tested without a browser (and again in one, through app.py).

Marker links: answer ``[n]`` of chat turn ``t`` becomes ``<a href="#src-t-n">``, and the sources panel
gives the matching card ``id="src-t-n"``. Turn numbers keep the markers of earlier answers pointing at
their own sources, which stay in the panel (folded) below the current answer's.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.assistant import Assistant
from rag.errors import RagError
from rag.ingest.load import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES
from rag.models import Answer, Citation
from rag.text.markers import marker_groups

REFUSAL_NOTE = "The articles don't say — try rephrasing the question, or add articles that cover it."
EARLIER_TURNS_SHOWN = 20  # older answers' sources are dropped from the panel, to keep it light
# A two-sided answer opens with this (rag/extract.py's conflict answers; the LLM prompts ask for the same).
_DISAGREE = re.compile(r"\s*sources disagree\b\s*:?\s*", re.IGNORECASE)


# --- chat messages -----------------------------------------------------------------------------------


def source_id(turn: int, marker: int) -> str:
    """The HTML id of a source card, and the fragment its markers link to."""
    return f"src-{turn}-{marker}"


def link_markers(text: str, turn: int) -> str:
    """HTML-escape an answer and turn each ``[n]`` (``[1, 2]``, ``[1-2]`` too) into links to its sources."""

    out: list[str] = []
    pos = 0
    for group in marker_groups(text):
        out.append(_escape_text(text[pos : group.start]))
        out.extend(f'<a class="rag-cite" href="#{source_id(turn, n)}">[{n}]</a>' for n in group.numbers)
        pos = group.end
    out.append(_escape_text(text[pos:]))
    return "".join(out)


def is_disagreement(answer: Answer) -> bool:
    """True for an answer that reports articles disagreeing (the generator's typed outcome)."""
    return answer.kind == "disagreement"


def render_partial(text: str, turn: int) -> str:
    """The chat bubble while an answer is still streaming in."""
    return link_markers(text, turn) + " ▍"


def render_answer(answer: Answer, turn: int) -> str:
    """The chat bubble for a finished answer: linked markers, refusal note, rewrite and fallback notes."""
    parts: list[str] = []
    if answer.refused:
        # A refusal is an honest outcome, not a failure: say so in a distinct, calm note.
        parts.append(f'<div class="rag-refusal"><strong>No answer in the articles.</strong> '
                     f"{html.escape(REFUSAL_NOTE)}</div>")
        if answer.text.strip() and not answer.text.strip().startswith("The articles don't say"):
            parts.append(link_markers(answer.text, turn))
    elif is_disagreement(answer):
        # Flag a two-sided answer at a glance: a reader skimming it could otherwise take the first date
        # given for the answer.
        # The extractive wording opens with the phrase itself; don't show it twice.
        match = _DISAGREE.match(answer.text)
        rest = link_markers(answer.text[match.end():] if match else answer.text, turn)
        parts.append(f'<div class="rag-disagree"><strong>Sources disagree:</strong> {rest}</div>')
    else:
        parts.append(link_markers(answer.text, turn))
    small: list[str] = []
    if answer.rewritten_question:
        small.append(f"Searched for: “{html.escape(answer.rewritten_question)}”")
    small.extend(f"Note: {html.escape(note)}" for note in answer.notes)
    if small:
        parts.append('<div class="rag-meta"><small>' + "<br>".join(small) + "</small></div>")
    return "\n\n".join(parts)


def render_error(message: str) -> str:
    """The chat bubble when a question could not be answered (LLM down, bad key...)."""
    return (f'<div class="rag-error"><strong>Could not answer:</strong> {html.escape(message)}</div>\n\n'
            "<small>The app is still running: ask again, or switch the answer mode in Settings.</small>")


# --- sources panel -----------------------------------------------------------------------------------


def highlight_quote(citation: Citation) -> str:
    """The citation's passage, HTML-escaped, with the exact supporting quote wrapped in ``<mark>``.

    The quote's span is in article coordinates; the passage starts at `passage_start`. If the span does
    not land on the quote (a mismatch would be a bug upstream), the quote is found by text instead, and
    failing that shown on its own, so the panel never highlights the wrong words.
    """
    passage, quote = citation.passage, citation.quote
    start = citation.start - citation.passage_start
    end = citation.end - citation.passage_start
    if not (0 <= start <= end <= len(passage) and passage[start:end] == quote):
        found = passage.find(quote) if quote else -1
        if found < 0:
            return f"<mark>{html.escape(quote)}</mark>" if not passage else (
                f"{html.escape(passage)}<br><mark>{html.escape(quote)}</mark>")
        start, end = found, found + len(quote)
    return (html.escape(passage[:start]) + "<mark>" + html.escape(passage[start:end]) + "</mark>"
            + html.escape(passage[end:]))


def render_source(citation: Citation, turn: int) -> str:
    """One source card: marker, title, outlet, date, file, and the passage with its quote marked."""
    title = html.escape(citation.title or citation.doc_id)
    file = citation.doc_id if citation.title else None  # without a title, the file name is the title
    meta = " · ".join(html.escape(x) for x in (citation.outlet, citation.published, file) if x)
    return (
        f'<div class="rag-source" id="{source_id(turn, citation.marker)}">'
        f'<div class="rag-source-head"><span class="rag-marker">[{citation.marker}]</span> '
        f"<strong>{title}</strong></div>"
        + (f'<div class="rag-source-meta">{meta}</div>' if meta else "")
        + _also_published(citation)
        + f'<blockquote class="rag-passage">{highlight_quote(citation)}</blockquote></div>'
    )


def _also_published(citation: Citation) -> str:
    """"Also published by" line of a syndicated story: each copy's outlet, linked to its url when known."""
    if not citation.also_published:
        return ""
    items = []
    for copy in citation.also_published:
        name = html.escape(copy.outlet or copy.title or copy.doc_id)
        url = copy.url if copy.url and copy.url.startswith(("http://", "https://")) else None
        items.append(f'<a href="{html.escape(url, quote=True)}" rel="noopener">{name}</a>' if url else name)
    return f'<div class="rag-source-meta rag-also">also published by {", ".join(items)}</div>'


def render_sources(answer: Answer, turn: int) -> str:
    """The sources of one answer: a card per cited marker, in marker order."""
    seen: set[int] = set()
    cards: list[str] = []
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        if citation.marker in seen:  # one card per marker; the first quote is the one linked
            continue
        seen.add(citation.marker)
        cards.append(render_source(citation, turn))
    # The reader's own words name the section (that is what they look for among earlier answers); the
    # rewritten question follows in small print, as it does under the answer.
    head = f'<div class="rag-turn-head">Sources for “{html.escape(answer.question)}”</div>'
    if answer.rewritten_question and answer.rewritten_question != answer.question:
        head += f'<div class="rag-source-meta">searched for “{html.escape(answer.rewritten_question)}”</div>'
    if is_disagreement(answer) and len(cards) > 1:
        head += ('<div class="rag-disagree-note">These articles disagree: each card is one side, with the '
                 "words the answer quotes highlighted.</div>")
    if not cards:
        why = "no answer was found" if answer.refused else "the answer cites nothing"
        cards.append(f'<div class="rag-empty">No sources: {why}.</div>')
    return f'<section class="rag-turn" data-turn="{turn}">{head}{"".join(cards)}</section>'


def render_panel(sections: Sequence[str]) -> str:
    """The whole sources panel: the current answer's sources, then earlier answers' folded away.

    `sections` are `render_sources` outputs, oldest first.
    """
    if not sections:
        return ('<div class="rag-empty">Ask a question: the articles each answer cites appear here, with '
                "the supporting quote highlighted.</div>")
    current, earlier = sections[-1], list(sections[:-1])[-EARLIER_TURNS_SHOWN:]
    if not earlier:
        return current
    folded = "".join(reversed(earlier))
    return (f'{current}<details class="rag-earlier"><summary>Earlier answers ({len(earlier)})</summary>'
            f"{folded}</details>")


# --- feedback ----------------------------------------------------------------------------------------


class FeedbackLog:
    """Appends one JSON line per thumbs up/down to a file; safe to share between request threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # gradio runs handlers in a thread pool

    def append(self, rating: str, turn: dict[str, Any]) -> dict[str, Any]:
        """Record `rating` ("up"/"down") for a turn (`Answer.to_dict()` plus "k"); returns the record."""
        record = {"timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "rating": rating, **turn}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
        return record


def rating_of(liked: bool | str) -> str:
    """Gradio's like payload (True/False, or a custom option's label) as "up"/"down"/the label."""
    if isinstance(liked, bool):
        return "up" if liked else "down"
    return {"like": "up", "dislike": "down"}.get(str(liked).lower(), str(liked))


# --- uploads -----------------------------------------------------------------------------------------


@dataclass
class UploadResult:
    """What an upload did: which files were refused before ingesting, and the ingest's own report."""

    saved: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    summary: str = ""  # IngestReport.summary(), or the RagError message when nothing could be ingested
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) from the loader
    ok: bool = True

    def message(self) -> str:
        """Markdown for the upload panel."""
        lines: list[str] = []
        if self.saved:
            lines.append(("Ingested: " if self.ok else "Not ingested: ") + ", ".join(self.saved))
        if self.summary:
            lines.append(self.summary)
        lines.extend(f"- **{name}** not ingested: {reason}" for name, reason in self.rejected + self.skipped)
        return "\n\n".join(lines) if lines else "Nothing uploaded."


def check_upload(path: Path, max_mb: float) -> str | None:
    """Why `path` cannot be ingested (wrong type, too large, empty), or None when it can."""
    name = path.name.lower()
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES))
        return f"unsupported file type {path.suffix or '(none)'}; use {kinds}"
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB cap per file (RAG_MAX_FILE_MB)"
    if size == 0 and not name.endswith(SIDECAR_SUFFIX):
        return "the file is empty"
    return None


def safe_name(name: str) -> str:
    """A plain file name for the uploads folder: no folders, no odd characters, no leading dot."""
    base = Path(name).name
    cleaned = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    return cleaned or "upload.txt"


def ingest_uploads(assistant: Assistant, files: Iterable[str | Path], upload_dir: Path, max_mb: float,
                   progress: Callable[[float, str], object] | None = None) -> UploadResult:
    """Check, save and ingest uploaded files; a bad file is reported and the others still go in.

    Files are copied into `upload_dir` (earlier uploads stay there) and the folder is ingested as a
    whole: `Assistant.ingest` of a folder prunes articles whose files are gone, so ingesting one file at
    a time from a fresh folder would be fine too, but the folder also picks up ``NAME.meta.json``
    sidecars uploaded beside their article. Files the loader skips are removed again, so they are not
    reported on every later upload. The uploaded `files` themselves (Gradio's temporary copies) are
    deleted once handled, accepted or not: nothing of a rejected upload stays on disk.
    """
    files = [Path(f) for f in files]
    try:
        return _ingest_uploads(assistant, files, upload_dir, max_mb, progress)
    finally:
        discard_uploads(files)


def _ingest_uploads(assistant: Assistant, files: list[Path], upload_dir: Path, max_mb: float,
                    progress: Callable[[float, str], object] | None) -> UploadResult:
    result = UploadResult()
    accepted: list[tuple[Path, str]] = []
    for src in files:
        reason = check_upload(src, max_mb) if src.is_file() else "the upload did not arrive"
        if reason:
            result.rejected.append((src.name, reason))
        else:
            accepted.append((src, safe_name(src.name)))
    if not accepted:
        result.ok = False
        return result
    upload_dir.mkdir(parents=True, exist_ok=True)
    new_files: list[Path] = []
    replaced: dict[Path, bytes] = {}  # the earlier upload of the same name, put back if the new one is skipped
    for i, (src, name) in enumerate(accepted):
        if progress:
            progress(0.1 * (i + 1) / len(accepted), f"Saving {name}")
        dest = upload_dir / name
        if not dest.exists():
            new_files.append(dest)
        else:
            replaced[dest] = dest.read_bytes()
        shutil.copyfile(src, dest)
        result.saved.append(name)
    if progress:
        progress(0.15, "Embedding articles")
    try:
        report = assistant.ingest(upload_dir, progress=progress is not None)
    except RagError as exc:
        result.ok = False
        result.summary = str(exc)
        for path in new_files:  # nothing in them could be read: do not keep them around
            path.unlink(missing_ok=True)
        for path, earlier in replaced.items():
            path.write_bytes(earlier)
        return result
    result.summary = report.summary()
    mine = set(result.saved)
    result.skipped = [(name, reason) for name, reason in report.skipped if name.split("#")[0] in mine]
    kept = set(report.kept)
    for name, _ in result.skipped:
        path = upload_dir / name
        if path in new_files:
            path.unlink(missing_ok=True)
        elif path in replaced:  # the index still holds the earlier upload: so does the folder
            path.write_bytes(replaced[path])
    result.skipped = [(name, reason + ("; the version uploaded earlier stays searchable" if name in kept else ""))
                      for name, reason in result.skipped]
    if result.skipped:
        skipped_files = {name for name, _ in result.skipped if "#" not in name}
        result.saved = [name for name in result.saved if name not in skipped_files]
    if progress:
        progress(1.0, "Done")
    return result


# Gradio keeps each upload in a folder named by a hex digest of its content.
_GRADIO_UPLOAD_DIR = re.compile(r"[0-9a-f]{16,}")


def discard_uploads(files: Iterable[Path]) -> None:
    """Delete uploaded temporary files, and the folder Gradio made for each upload once it is empty."""
    for path in files:
        if path.is_symlink() or not path.is_file():
            continue  # only the plain files an upload creates
        path.unlink(missing_ok=True)
        if _GRADIO_UPLOAD_DIR.fullmatch(path.parent.name):
            with contextlib.suppress(OSError):  # not empty: another upload of the same content is in it
                path.parent.rmdir()


def port_problem(host: str, port: int) -> str | None:
    """Why the UI cannot listen on host:port (already in use, no permission), or None when it can."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As uvicorn does: a port left in TIME_WAIT by a server that just stopped is free to use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return (f"Cannot serve on {host}:{port}: {exc.strerror or exc}. Another program (or another "
                    f"copy of this app) is probably using the port: stop it, or pick another port with "
                    f"RAG_PORT=... or `rag serve --port ...`.")
    return None


def _escape_text(text: str) -> str:
    # The chatbot renders markdown; escaping HTML keeps article text from injecting tags into the page.
    return html.escape(text, quote=False)
