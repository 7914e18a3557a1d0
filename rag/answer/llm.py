"""Generators turn a question and its numbered passages into a cited `Answer`.

`Generator` is the seam: anything with `answer()` and `stream()` fits (the LLM generator here, the
extractive one elsewhere). `OpenAIGenerator` talks to OpenAI or any OpenAI-compatible server (Ollama,
vLLM, llama.cpp) through the `openai` client, and maps its errors to `RagError`s that say what to do.

Typed outcomes: the prompt (prompts/answer_system.txt) asks the model to open its reply with an outcome
line, ``ANSWER``, ``REFUSAL`` or ``DISAGREEMENT``, and `read_outcome` turns that line into `Answer.kind`;
the wording of the reply is never matched. A model that ignores the format falls back on structure: a
reply citing a passage is an answer, one citing none is a refusal (an uncited claim cannot be checked),
and the fallback is noted in `Answer.notes`. The outcome line is never streamed to the user.

Structured replies (``Settings.llm_reply_format="json"``, the default): the request carries
``response_format`` with the JSON schema of prompts/answer_schema.json, so a server that supports it
(OpenAI, llama.cpp, vLLM, Ollama) constrains decoding to that shape and the outcome, the answer, the cited
passage numbers and the supporting quote are fields the model cannot skip. `read_json_reply` reads them
(leniently: code fences, a reply cut off by max_tokens), `json_answer_text` writes the answer with its
``[n]`` markers, and the citations are checked against the passages exactly as for prose. Two checks
use the typed fields (Settings.llm_cite_quote, llm_check_answer): when the cited passages do not state
the answer, a quote found in one other passage moves the citation there; and an answer whose own words
(beyond the question's) are not in its cited passages is cited to the best-ranked passage that states it
(Settings.llm_cite_answer), or, when none does, read as a refusal, with a note. The text is
streamed once the JSON is complete. A server that rejects ``response_format`` (HTTP 400/422) gets the
outcome-line prompt instead, once per question, and `Answer.notes` says so.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import openai

from rag.answer.citations import REFUSAL, citations_for, parse_markers
from rag.errors import RagError
from rag.models import Answer, AnswerKind, Citation, Passage
from rag.prompts import load_schema, render_prompt
from rag.settings import Settings
from rag.text.markers import strip_markers
from rag.text.numbers import NUMBER_WORDS
from rag.text.tokens import content_words, stem

if TYPE_CHECKING:
    from rag.retrieve.timeframe import TimeFrame

OPENAI_URL = "https://api.openai.com/v1"
# llama.cpp and Ollama accept any key; the client insists on one.
PLACEHOLDER_KEY = "not-needed"
# One retry covers a dropped connection or a 429/5xx blip without making a dead server slow to report.
MAX_RETRIES = 1

_HEADER_FIELDS = (("Title", "title"), ("Outlet", "outlet"), ("Published", "published"), ("Source", "source"))

Message = dict[str, str]  # {"role": "system" | "user", "content": ...}

# The outcome line: one of the three words, maybe dressed in markdown ("**ANSWER**", "# Refusal"), maybe
# followed on the same line by a colon and the answer itself ("ANSWER: The army left ... [1]").
_OUTCOMES: dict[str, AnswerKind] = {"ANSWER": "answer", "REFUSAL": "refusal", "DISAGREEMENT": "disagreement"}
_OUTCOME_LINE = re.compile(
    r"\s*[*#_`>\s]*(ANSWER|REFUSAL|DISAGREEMENT)\b[*_`]*[ \t]*[:.\-–—]?[*_`]*[ \t]*(?:\r?\n)?", re.IGNORECASE
)
# Enough buffered reply to know whether it opened with an outcome word: the longest, its dressing, a colon.
_OUTCOME_WAIT_CHARS = 24
# A JSON reply cut off by max_tokens is closed with the first of these that parses.
_JSON_CLOSERS = ("", "}", '"}', "]}", '"]}', '""}', ': ""}', "0]}")
_TRAILING_PUNCT = re.compile(r"[\s.!?;:,]*$")


class Generator(Protocol):
    """Anything that answers a question from numbered passages."""

    name: str

    def answer(self, question: str, passages: list[Passage], frame: TimeFrame | None = None) -> Answer:
        """The complete cited answer; `frame`: when the question was asked and the period it names."""
        ...

    def stream(self, question: str, passages: list[Passage],
               frame: TimeFrame | None = None) -> Iterator[str | Answer]:
        """Text deltas as they arrive, then the final `Answer` (whose text is authoritative) last."""
        ...


class OpenAIGenerator:
    """Answers with an OpenAI(-compatible) chat model, citing passages as [n]."""

    name = "openai"

    def __init__(self, settings: Settings, client: openai.OpenAI | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def build_messages(
        self, question: str, passages: Sequence[Passage], reply_format: str | None = None
    ) -> list[Message]:
        """The exact chat messages sent for `question` (system rules, then numbered passages).

        `reply_format` ("json" or "text", default Settings.llm_reply_format) picks the prompt pair:
        prompts/answer_json_system.txt + answer_json_user.txt, or answer_system.txt + answer_user.txt.
        """
        prompts_dir = self.settings.prompts_dir
        prefix = "answer_json" if (reply_format or self.settings.llm_reply_format) == "json" else "answer"
        system = render_prompt(prompts_dir, f"{prefix}_system", refusal=REFUSAL)
        user = render_prompt(
            prompts_dir,
            f"{prefix}_user",
            passages=format_passages(passages, prompts_dir),
            question=question,
            refusal=REFUSAL,
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def response_format(self, passages: Sequence[Passage]) -> dict[str, Any]:
        """The ``response_format`` of a JSON request: prompts/answer_schema.json, its ``citations`` items
        limited to the numbers of `passages` (the model cannot cite a passage it was not given)."""
        schema = load_schema(self.settings.prompts_dir, "answer_schema")
        citations = schema.get("properties", {}).get("citations")
        if isinstance(citations, dict) and isinstance(citations.get("items"), dict):
            citations["items"] = {"type": "integer", "enum": [p.number for p in passages]}
        return {"type": "json_schema", "json_schema": {"name": "cited_answer", "schema": schema, "strict": True}}

    def select(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages the model sees, numbered in the order it reads them (Settings.llm_passages, _order).

        Small models answer better from fewer, shorter prompts (bench/llm_small.py measured it).
        """
        kept = sorted(passages, key=lambda p: p.number)[: self.settings.llm_passages]
        if self.settings.llm_passage_order == "reverse":
            kept.reverse()  # the best passage last, next to the question
        return [Passage(node=p.node, score=p.score, number=i) for i, p in enumerate(kept, start=1)]

    def answer(self, question: str, passages: list[Passage], frame: TimeFrame | None = None) -> Answer:
        """Ask the model once and parse its reply into a cited `Answer`. `frame` is not used: the prompt
        gives each passage's date and the resolved relative dates already."""
        final: Answer | None = None
        for item in self._generate(question, passages, stream=False):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(self, question: str, passages: list[Passage],
               frame: TimeFrame | None = None) -> Iterator[str | Answer]:
        """Yield the reply's text deltas as the server sends them, then the parsed `Answer`.

        Prose replies: deltas are raw model text (markers not yet checked) without the outcome line.
        JSON replies: the answer text is yielded once, when the JSON is complete and parsed. Either way,
        show the final Answer's text once it comes.
        """
        yield from self._generate(question, passages, stream=True)

    def _generate(self, question: str, passages: list[Passage], *, stream: bool) -> Iterator[str | Answer]:
        passages = self.select(passages)
        started = time.perf_counter()
        notes: list[str] = []
        if self.settings.llm_reply_format == "json":
            messages = self.build_messages(question, passages, "json")
            try:
                reply, usage = complete(
                    self.client, self.settings, messages, response_format=self.response_format(passages)
                )
            except FormatRejected as exc:
                notes.append(f"{exc} Answered with the outcome-line prompt instead (RAG_LLM_REPLY_FORMAT=text).")
            else:
                answer = self._finish_json(question, passages, messages, reply, usage, started)
                if stream and answer.text:
                    yield answer.text
                yield answer
                return
        messages = self.build_messages(question, passages, "text")
        if not stream:
            reply, usage = complete(self.client, self.settings, messages)
        else:
            parts: list[str] = []
            usage = {}
            hold = OutcomeFilter()
            for item in stream_complete(self.client, self.settings, messages):
                if isinstance(item, str):
                    parts.append(item)
                    shown = hold.feed(item)
                    if shown:
                        yield shown
                else:
                    usage = item
            rest = hold.flush()
            if rest:
                yield rest
            reply = "".join(parts)
        answer = self._finish(question, passages, messages, reply, usage, time.perf_counter() - started)
        answer.notes[:0] = notes
        yield answer

    def _finish_json(
        self,
        question: str,
        passages: list[Passage],
        messages: list[Message],
        reply: str,
        usage: dict[str, int],
        started: float,
    ) -> Answer:
        parsed = read_json_reply(reply)
        if parsed is None:
            # Unreadable JSON is read as prose: an outcome line or citations may still be there.
            answer = self._finish(question, passages, messages, reply, usage, time.perf_counter() - started)
            answer.notes.insert(0, "The LLM's JSON reply could not be read; read as plain text.")
            return answer
        pre: list[str] = []
        cited = [p for p in passages if p.number in parsed.citations]
        if self.settings.llm_cite_quote and not answer_grounded(parsed.answer, question, cited):
            parsed, moved = cite_quote(parsed, passages)
            if moved:
                pre.append(moved)
        text = json_answer_text(parsed, len(passages))
        citations = citations_for(text, passages)
        # A refusal's fields are empty by design: that is not an "empty answer".
        kind, notes = decide_kind(parsed.kind, text or (REFUSAL if parsed.kind == "refusal" else ""), citations)
        notes[:0] = pre
        if self.settings.llm_check_answer and kind != "refusal" and citations:
            cited = [p for p in passages if p.number in {c.marker for c in citations}]
            if not answer_grounded(text, question, cited):
                stating = first_stating(parsed, question, passages) if self.settings.llm_cite_answer else None
                if stating is not None:
                    # A small model often cites the wrong one of several passages: the answer stands
                    # when another passage states it, cited there.
                    was = ", ".join(f"[{c.marker}]" for c in citations)
                    parsed = JsonReply(parsed.kind, parsed.answer, [stating], parsed.quote)
                    text = json_answer_text(parsed, len(passages))
                    citations = citations_for(text, passages)
                    notes.append(f"The LLM cited {was} for an answer that passage [{stating}] states; "
                                 f"cited [{stating}] instead.")
                else:
                    kind = "refusal"
                    notes.append(f"The LLM answered {strip_markers(text)!r}, which its cited passages do not "
                                 "state; read as a refusal.")
        if parsed.kind is None:
            notes = [n.replace("wrote no outcome line (ANSWER, REFUSAL or DISAGREEMENT)",
                               "gave no valid outcome field") for n in notes]
        if kind == "refusal":
            text, citations = REFUSAL, []
        # The answer field is the short answer, as the extractive answerer's lead is: callers read it
        # from `Answer.short` in either mode, never by cutting the text.
        short = strip_markers(parsed.answer).strip().rstrip(".").strip() if kind != "refusal" else ""
        return _answer(question, text, kind, citations, passages, notes, time.perf_counter() - started,
                       usage or count_usage(messages, reply), short or None)

    def _finish(
        self,
        question: str,
        passages: list[Passage],
        messages: list[Message],
        reply: str,
        usage: dict[str, int],
        elapsed: float,
    ) -> Answer:
        outcome = read_outcome(reply)
        text, _ = parse_markers(outcome.body, len(passages))
        citations = citations_for(text, passages)
        kind, notes = decide_kind(outcome.kind, text, citations)
        return _answer(question, text or (REFUSAL if kind == "refusal" else ""), kind, citations, passages, notes,
                       elapsed, usage or count_usage(messages, reply))


def _answer(question: str, text: str, kind: AnswerKind, citations: list[Citation], passages: Sequence[Passage],
            notes: list[str], elapsed: float, usage: dict[str, int], short: str | None = None) -> Answer:
    """The `Answer` of an LLM reply, prose or JSON alike (`short`: the JSON reply's answer field)."""
    return Answer(question=question, text=text, kind=kind, citations=citations, mode="openai",
                  passages=list(passages), notes=notes, timings={"generate": elapsed}, usage=usage, short=short)


class FormatRejected(RagError):
    """The server refused the request's ``response_format`` (it cannot constrain replies to a schema)."""


@dataclass(frozen=True)
class JsonReply:
    """The typed fields of a structured reply (prompts/answer_schema.json); missing ones are empty."""

    kind: AnswerKind | None  # None: no outcome field, or not one of the three
    answer: str
    citations: list[int]
    quote: str


def read_json_reply(reply: str) -> JsonReply | None:
    """The fields of a JSON reply, or None when it holds no JSON object.

    Lenient about what servers and models do around the object: a markdown code fence, text before it,
    and a reply cut off by max_tokens (closed with the shortest suffix that parses).
    """
    start = reply.find("{")
    if start < 0:
        return None
    body = reply[start:].strip().removesuffix("```").strip()
    data: Any = None
    for closer in _JSON_CLOSERS:
        try:
            data, _ = json.JSONDecoder().raw_decode(body + closer)
            break
        except json.JSONDecodeError:
            continue
    if not isinstance(data, dict):
        return None
    outcome = str(data.get("outcome") or "").strip().upper()
    raw = data.get("citations")
    raw = raw if isinstance(raw, list) else [raw]
    numbers: list[int] = []
    for item in raw:
        if isinstance(item, bool):
            continue
        if isinstance(item, int | float | str) and str(item).strip().strip("[]").isdigit():
            n = int(str(item).strip().strip("[]"))
            if n not in numbers:
                numbers.append(n)
    return JsonReply(
        kind=_OUTCOMES.get(outcome),
        answer=str(data.get("answer") or "").strip(),
        citations=numbers,
        quote=str(data.get("quote") or "").strip(),
    )


def _terms(text: str) -> set[str]:
    """Stemmed content words of `text`, number words as digits ("five" -> "5", "1,200" -> "1200")."""
    out = set()
    for word in content_words(text):
        word = word.replace(",", "")
        out.add(str(NUMBER_WORDS[word]) if word in NUMBER_WORDS else stem(word))
    return out


def _evidence(passage: Passage) -> str:
    """What the model read of a passage: its text, published date and resolved dates."""
    meta = passage.meta
    return " ".join([passage.text, str(meta.get("published") or ""), str(meta.get("dates") or "")])


def answer_grounded(answer: str, question: str, passages: Sequence[Passage]) -> bool:
    """Does the answer state something its cited `passages` state?

    Its words beyond the question's are what it adds: every number among them and at least half of them
    must be in the passages. An answer made only of the question's words ("Al-Hilal" to "did Al-Ittihad or
    Al-Hilal win?") must be in the passages as a whole. Words, not meaning: a wrong figure that the
    passages hold still passes.
    """
    terms = _terms(strip_markers(answer))
    pool = set().union(*(_terms(_evidence(p)) for p in passages)) if passages else set()
    new = terms - _terms(question)
    if new:
        numbers = {t for t in new if t.isdigit()}
        return numbers <= pool and 2 * len(new & pool) >= len(new)
    return bool(terms) and terms <= pool


def first_stating(reply: JsonReply, question: str, passages: Sequence[Passage]) -> int | None:
    """The number of the best-ranked passage that states a plain answer on its own, or None (also for a
    disagreement or an answer that cites inside its text: those cite each side where the model put it)."""
    if reply.kind != "answer" or not reply.answer or strip_markers(reply.answer) != reply.answer:
        return None
    return next((p.number for p in passages if answer_grounded(reply.answer, question, [p])), None)


def quote_held(quote: str, passage: Passage) -> bool:
    """Does `passage` hold the model's quote: most (80%) of its content words? A 1.5B model rewords and
    reorders the sentence it quotes, so an exact match would miss the quotes it copied well."""
    terms = _terms(quote)
    return bool(terms) and len(terms & _terms(passage.text)) >= 0.8 * len(terms)


def cite_quote(reply: JsonReply, passages: Sequence[Passage]) -> tuple[JsonReply, str]:
    """The reply citing the passage its quote comes from, when none of its cited passages holds the quote
    (most of its words) and exactly one other passage does; and a note saying so (else "").

    The generator asks only when the cited passages do not state the answer: a citation that supports
    the answer stays, wherever the quote came from."""
    if len(_terms(reply.quote)) < 3:
        return reply, ""
    by_number = {p.number: p for p in passages}
    if any(quote_held(reply.quote, by_number[n]) for n in reply.citations if n in by_number):
        return reply, ""
    holders = [p.number for p in passages if quote_held(reply.quote, p)]
    if len(holders) != 1:
        return reply, ""
    was = ", ".join(f"[{n}]" for n in reply.citations) or "no passage"
    fixed = JsonReply(reply.kind, reply.answer, holders, reply.quote)
    return fixed, f"The LLM cited {was} for a quote from passage [{holders[0]}]; cited [{holders[0]}] instead."


def json_answer_text(reply: JsonReply, n_passages: int) -> str:
    """The answer as cited text: the answer field (else the quote), with its valid cited passage numbers
    as markers before the closing punctuation ("December 5 [1]."). Markers the model wrote inside the
    field are kept when valid, so a disagreement can cite each side where it states it."""
    text = reply.answer or reply.quote
    text, written = parse_markers(text, n_passages)
    missing = [n for n in reply.citations if 1 <= n <= n_passages and n not in written]
    if not text or not missing:
        return text
    end = _TRAILING_PUNCT.search(text)
    cut = end.start() if end else len(text)
    punct = text[cut:].strip()
    return text[:cut] + " " + "".join(f"[{n}]" for n in missing) + punct


@dataclass(frozen=True)
class Outcome:
    """A reply split into its outcome line (None when the model wrote none) and the rest."""

    kind: AnswerKind | None
    body: str


def read_outcome(reply: str) -> Outcome:
    """Split the outcome line (``ANSWER``, ``REFUSAL``, ``DISAGREEMENT``; any case) off a reply."""
    match = _OUTCOME_LINE.match(reply)
    if not match:
        return Outcome(None, reply.strip())
    return Outcome(_OUTCOMES[match.group(1).upper()], reply[match.end() :].strip())


def decide_kind(declared: AnswerKind | None, text: str, citations: Sequence[Citation]) -> tuple[AnswerKind, list[str]]:
    """`Answer.kind` from the declared outcome, checked against the citations, and notes for the reader.

    - no outcome line: an answer if it cites a passage, else a refusal (an uncited claim cannot be checked);
    - a disagreement citing fewer than two passages has no two sides to show: an answer;
    - an answer citing nothing stays an answer (the model said so), with a note.
    """
    notes = [] if text else ["The LLM returned an empty answer."]
    cited = {c.marker for c in citations}
    if declared is None:
        kind: AnswerKind = "answer" if cited else "refusal"
        why = "it cites a passage" if cited else "it cites no passage"
        notes.append(f"The LLM wrote no outcome line (ANSWER, REFUSAL or DISAGREEMENT); read as {kind}: {why}.")
        return kind, notes
    if declared == "disagreement" and len(cited) < 2:
        notes.append("The LLM reported a disagreement but cited fewer than two passages; shown as an answer.")
        return "answer", notes
    if declared == "answer" and text and not cited:
        notes.append("The answer cites no passage.")
    return declared, notes


class OutcomeFilter:
    """Holds back the start of a streamed reply until its outcome line is known, so the user never sees it.

    `feed` each delta and show what it returns; `flush` at the end returns whatever is still held.
    """

    def __init__(self) -> None:
        self._head = ""
        self._open = False

    def feed(self, delta: str) -> str:
        """The part of the reply that can be shown now (empty while the outcome line is undecided)."""
        if self._open:
            return delta
        self._head += delta
        head = self._head.lstrip()
        if "\n" not in head and len(head) < _OUTCOME_WAIT_CHARS:
            return ""
        return self.flush()

    def flush(self) -> str:
        """Stop holding back: the held text without its outcome line."""
        if self._open:
            return ""
        self._open = True
        match = _OUTCOME_LINE.match(self._head)
        return self._head[match.end() :].lstrip() if match else self._head.lstrip()


def make_client(settings: Settings) -> openai.OpenAI:
    """An `openai.OpenAI` client for the configured key and/or base URL.

    Both values are passed explicitly so the client never falls back to reading the environment itself.
    """
    if not settings.openai_api_key and not settings.openai_base_url:
        raise RagError(
            "No LLM is configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server "
            "such as Ollama, vLLM or llama.cpp), or use RAG_LLM=extractive to answer offline."
        )
    return openai.OpenAI(
        api_key=settings.openai_api_key or PLACEHOLDER_KEY,
        base_url=settings.openai_base_url or OPENAI_URL,
        timeout=settings.llm_timeout,
        max_retries=MAX_RETRIES,
    )


def format_passages(passages: Sequence[Passage], prompts_dir: Path) -> str:
    """Passages as numbered blocks laid out by prompts/answer_passage.txt, which may use {number},
    {header} (title, outlet, published date and source joined), each of {title} {outlet} {published}
    {source}, {dates} (resolved relative dates, with its line break) and {text}."""
    return "\n\n".join(_format_passage(p, prompts_dir) for p in passages)


def complete(
    client: openai.OpenAI,
    settings: Settings,
    messages: list[Message],
    max_tokens: int | None = None,
    response_format: dict[str, Any] | None = None,
) -> tuple[str, dict[str, int]]:
    """One non-streaming chat completion: the reply text and the server's token usage (may be empty).

    With `response_format`, a 400/422 from the server raises `FormatRejected` (the caller may retry
    without it); every other error is an `api_error`.
    """
    extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
    try:
        response = client.chat.completions.create(
            model=settings.openai_model,
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens or settings.llm_max_tokens,
            temperature=settings.temperature,
            **extra,
        )
    except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
        if response_format:
            url = settings.openai_base_url or OPENAI_URL
            raise FormatRejected(
                f"The LLM server at {url} rejected the JSON reply schema ({exc.status_code}: {_short(exc.message)})."
            ) from exc
        raise api_error(exc, settings) from exc
    except openai.APIError as exc:
        raise api_error(exc, settings) from exc
    text = (response.choices[0].message.content or "") if response.choices else ""
    return text, _usage(response.usage)


def stream_complete(
    client: openai.OpenAI, settings: Settings, messages: list[Message], max_tokens: int | None = None
) -> Iterator[str | dict[str, int]]:
    """A streaming chat completion: text deltas, then the usage dict if the server reported one."""
    try:
        stream = client.chat.completions.create(
            model=settings.openai_model,
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens or settings.llm_max_tokens,
            temperature=settings.temperature,
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            for chunk in stream:
                if chunk.usage:
                    yield _usage(chunk.usage)
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
    except openai.APIError as exc:
        raise api_error(exc, settings) from exc


def count_usage(messages: Sequence[Message], reply: str) -> dict[str, int]:
    """Token counts with tiktoken's cl100k_base, for servers that report no usage."""
    from llama_index.core.utils import get_tokenizer  # its bundled tiktoken cache: no download

    tokenize = get_tokenizer()
    prompt = sum(len(tokenize(m["content"])) for m in messages)
    return {"prompt_tokens": prompt, "completion_tokens": len(tokenize(reply))}


def api_error(exc: openai.APIError, settings: Settings) -> RagError:
    """A `RagError` that names the server, the setting to fix, and never the key."""
    url = settings.openai_base_url or OPENAI_URL
    offline = (
        "Start it or unset OPENAI_BASE_URL to answer offline."
        if settings.openai_base_url
        else "Check your network, or unset OPENAI_API_KEY to answer offline."
    )
    if isinstance(exc, openai.APITimeoutError):
        return RagError(
            f"Could not reach the LLM server at {url} (no answer within {settings.llm_timeout:g}s). "
            f"{offline} A slow server may need a larger RAG_LLM_TIMEOUT."
        )
    if isinstance(exc, openai.APIConnectionError):
        return RagError(f"Could not reach the LLM server at {url} ({_connection_reason(exc)}). {offline}")
    if isinstance(exc, openai.AuthenticationError):
        return RagError(
            f"The LLM server at {url} rejected the API key (401 Unauthorized). Check OPENAI_API_KEY."
        )
    if isinstance(exc, openai.NotFoundError):
        return RagError(
            f"The LLM server at {url} has no model {settings.openai_model!r} (404 Not Found). Set "
            "RAG_OPENAI_MODEL to a model it serves (and check that OPENAI_BASE_URL ends in /v1)."
        )
    if isinstance(exc, openai.APIStatusError):
        return RagError(f"The LLM server at {url} answered {exc.status_code}: {_short(exc.message)}")
    return RagError(f"The LLM server at {url} sent a reply that could not be read: {_short(str(exc))}")


def _format_passage(passage: Passage, prompts_dir: Path) -> str:
    meta = passage.meta
    header = " | ".join(f"{label}: {meta[key]}" for label, key in _HEADER_FIELDS if meta.get(key))
    dates = f"Dates: {meta['dates']}\n" if meta.get("dates") else ""
    # The template picks what it shows: the joined header, or single fields for a more compact layout.
    fields = {key: str(meta.get(key) or "") for _, key in _HEADER_FIELDS}
    block = render_prompt(
        prompts_dir, "answer_passage", number=str(passage.number), header=header, dates=dates,
        text=passage.text.strip(), **fields,
    )
    return block.strip()


def _usage(usage: Any) -> dict[str, int]:
    if usage is None or usage.prompt_tokens is None:
        return {}
    return {"prompt_tokens": int(usage.prompt_tokens), "completion_tokens": int(usage.completion_tokens or 0)}


def _connection_reason(exc: BaseException) -> str:
    # httpx wraps the socket error a few levels down; the innermost cause says what really happened.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    inner = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    return _short(str(inner) or type(inner).__name__)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
