"""The UI's logic (rag.ui) and app.py's API endpoint, over a real index served on loopback."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import UiApp
from gradio_client import Client
from llm_server import LLM_TIMEOUT_S

from rag.assistant import Assistant
from rag.errors import RagError
from rag.models import AlsoPublished, Answer, Citation
from rag.settings import PROJECT_ROOT
from rag.ui import (
    FeedbackLog,
    check_upload,
    highlight_quote,
    ingest_uploads,
    link_markers,
    rating_of,
    render_answer,
    render_error,
    render_panel,
    render_sources,
    safe_name,
)

BEFORE = 'Intro <b>bold</b> & "quoted". '
QUOTE = "The army left Hama on December 5 <script>alert(1)</script>."
AFTER = " After & more."
PASSAGE = BEFORE + QUOTE + AFTER
PASSAGE_START = 1000  # the passage's offset in its article


def citation(marker: int = 1, **changes: object) -> Citation:
    start = PASSAGE_START + len(BEFORE)
    fields: dict[str, object] = dict(
        marker=marker, doc_id="a/b.txt", source="b.txt", title="Army <leaves> Hama", outlet="RT & Co",
        published="2024-12-05", quote=QUOTE, start=start, end=start + len(QUOTE), passage=PASSAGE,
        passage_start=PASSAGE_START)
    fields.update(changes)
    return Citation(**fields)  # type: ignore[arg-type]


# --- sources panel and chat HTML -----------------------------------------------------------------------


def test_highlight_escapes_everything_and_marks_exactly_the_quote() -> None:
    out = highlight_quote(citation())
    assert out == f"{html.escape(BEFORE)}<mark>{html.escape(QUOTE)}</mark>{html.escape(AFTER)}"
    assert "<script>" not in out and "<b>" not in out


def test_highlight_finds_the_quote_by_text_when_the_span_is_off() -> None:
    out = highlight_quote(citation(start=PASSAGE_START + 3, end=PASSAGE_START + 9))
    assert f"<mark>{html.escape(QUOTE)}</mark>" in out
    missing = highlight_quote(citation(quote="not in the passage", start=0, end=0))
    assert missing.endswith("<mark>not in the passage</mark>")


def test_source_cards_link_up_with_the_markers() -> None:
    answer = Answer(question="q", text="December 5 [2] and [1].", kind="answer",
                    citations=[citation(2), citation(1, title=None)])
    panel = render_sources(answer, turn=3)
    assert panel.index('id="src-3-1"') < panel.index('id="src-3-2"')
    assert "Army &lt;leaves&gt; Hama" in panel and "RT &amp; Co" in panel and "2024-12-05" in panel
    assert "a/b.txt" in panel  # the file: shown as the title when there is none
    bubble = render_answer(answer, turn=3)
    assert '<a class="rag-cite" href="#src-3-2">[2]</a>' in bubble
    assert '<a class="rag-cite" href="#src-3-1">[1]</a>' in bubble


def test_syndicated_copies_show_as_also_published_by() -> None:
    copies = [AlsoPublished("wire/c.txt", outlet="Wire <W>", url="https://wire.example/a?b=1&c=2"),
              AlsoPublished("d.txt", outlet=None, url="javascript:alert(1)")]
    panel = render_sources(Answer(question="q", text="x [1].", kind="answer",
                                  citations=[citation(1, also_published=copies)]), turn=1)
    assert "also published by" in panel
    assert '<a href="https://wire.example/a?b=1&amp;c=2" rel="noopener">Wire &lt;W&gt;</a>' in panel
    assert "javascript:" not in panel and "d.txt" in panel  # only http(s) links; otherwise the file name
    assert "also published by" not in render_sources(Answer(question="q", text="x [1].", kind="answer",
                                                            citations=[citation(1)]), turn=1)


def test_marker_groups_become_one_link_each_and_text_is_escaped() -> None:
    out = link_markers("x <i>y</i> [1, 3-4][2]", turn=1)
    assert out.startswith("x &lt;i&gt;y&lt;/i&gt; ")
    assert [f'href="#src-1-{n}"' in out for n in (1, 2, 3, 4)] == [True] * 4


def test_refusal_is_a_note_not_an_error() -> None:
    answer = Answer(question="what is post-series depression?", text="The articles don't say.", kind="refusal")
    bubble = render_answer(answer, turn=1)
    assert "rag-refusal" in bubble and "rag-error" not in bubble and "rephras" in bubble
    assert "No sources" in render_sources(answer, turn=1)
    assert "rag-error" in render_error("Could not reach <the server>")
    assert "&lt;the server&gt;" in render_error("Could not reach <the server>")


def test_rewritten_question_and_notes_show_under_the_answer() -> None:
    answer = Answer(question="and who?", text="HTS [1]", kind="answer", citations=[citation()],
                    rewritten_question="who led the offensive (Hama)?",
                    notes=["LLM down, answered extractively"])
    bubble = render_answer(answer, turn=2)
    assert "Searched for: “who led the offensive (Hama)?”" in bubble
    assert "LLM down, answered extractively" in bubble


def test_disagreement_is_flagged_in_the_bubble_and_the_panel() -> None:
    text = "Sources disagree: one article gives November 30 [1]: “x.” Levant gives 1 December [2]: “y.”"
    answer = Answer(question="when did they take <Aleppo>?", text=text, kind="disagreement",
                    citations=[citation(1), citation(2, doc_id="c/d.txt")], rewritten_question="take Aleppo?")
    bubble = render_answer(answer, turn=4)
    assert bubble.startswith('<div class="rag-disagree"><strong>Sources disagree:</strong> one article')
    assert bubble.count("rag-cite") == 2
    panel = render_sources(answer, turn=4)
    assert "rag-disagree-note" in panel and panel.count('class="rag-source"') == 2
    # The section is named by the reader's own question; the rewrite follows in small print.
    assert "Sources for “when did they take &lt;Aleppo&gt;?”" in panel and "searched for “take Aleppo?”" in panel
    plain = Answer(question="q", text="December 5 [1].", kind="answer", citations=[citation()])
    assert "rag-disagree" not in render_answer(plain, turn=1) + render_sources(plain, turn=1)


def test_panel_keeps_earlier_answers_folded_below_the_current_one() -> None:
    assert "Ask a question" in render_panel([])
    panel = render_panel(["<section>one</section>", "<section>two</section>"])
    assert panel.startswith("<section>two</section>") and "<details" in panel and "one" in panel


# --- feedback --------------------------------------------------------------------------------------


def test_feedback_appends_one_json_line_per_rating(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "deep" / "feedback.jsonl")
    answer = Answer(question="when did the army leave Hama?", text="December 5 [1]", kind="answer",
                    citations=[citation()])
    log.append(rating_of(True), answer.to_dict())
    log.append(rating_of(False), {"question": "q", "error": "LLM down"})
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert [line["rating"] for line in lines] == ["up", "down"]
    first = lines[0]
    assert first["question"] == "when did the army leave Hama?" and first["answer"] == "December 5 [1]"
    assert first["citations"][0]["quote"] == QUOTE and first["timestamp"].endswith("+00:00")
    assert rating_of("Dislike") == "down"


# --- uploads ---------------------------------------------------------------------------------------


def test_upload_checks_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / "big.txt").write_text("x" * 2048)
    (tmp_path / "ok.md").write_text("# Title\n\nBody.")
    (tmp_path / "empty.txt").write_text("")
    assert "unsupported file type .pdf" in (check_upload(tmp_path / "a.pdf", 1) or "")
    assert "over the 0.001 MB cap per file (RAG_MAX_FILE_MB)" in (check_upload(tmp_path / "big.txt", 0.001) or "")
    assert check_upload(tmp_path / "ok.md", 1) is None
    assert check_upload(tmp_path / "empty.txt", 1) == "the file is empty"
    assert safe_name("../../etc/pass wd?.txt") == "pass wd_.txt" and safe_name("..") == "upload.txt"


def test_bad_uploads_are_reported_and_the_good_one_is_ingested(ui_app: UiApp, tmp_path: Path) -> None:
    good = tmp_path / "quokkafest.txt"
    good.write_text("Quokkafest organisers cancel parade\n\nThe Zanthorpe quokkafest parade was cancelled on "
                    "Tuesday after organisers said a storm had flooded the harbour square.\n")
    wrong = tmp_path / "notes.docx"
    wrong.write_bytes(b"PK\x03\x04")
    big = tmp_path / "huge.txt"
    big.write_text("Huge article. " * 8000)  # > the fixture's 0.05 MB limit
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    # Files that once stopped a whole ingest with a traceback.
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    utf16 = tmp_path / "cut.txt"
    utf16.write_bytes(b"\xff\xfeA\x00B\x00C")
    uploads = [good, wrong, big, broken, deep, utf16]
    upload_dir = ui_app.settings.data_dir / "uploads"

    result = ingest_uploads(ui_app.assistant, uploads, upload_dir, ui_app.settings.max_file_mb)

    rejected = dict(result.rejected)
    assert "unsupported file type .docx" in rejected["notes.docx"]
    assert "over the 0.05 MB cap per file (RAG_MAX_FILE_MB)" in rejected["huge.txt"]
    skipped = dict(result.skipped)
    assert set(skipped) == {"broken.json", "deep.json", "cut.txt"}
    assert "nested too deeply" in skipped["deep.json"] and "UTF-16" in skipped["cut.txt"]
    assert result.saved == ["quokkafest.txt"] and result.ok
    assert (upload_dir / "quokkafest.txt").exists() and not (upload_dir / "broken.json").exists()
    assert not any(path.exists() for path in uploads)  # the temporary uploads are gone, rejected or not
    message = result.message()
    assert "Ingested: quokkafest.txt" in message and "notes.docx" in message and "broken.json" in message
    answer = ui_app.assistant.ask("why was the Zanthorpe quokkafest parade cancelled?")
    assert not answer.refused and "storm" in answer.text
    assert answer.citations[0].doc_id == "quokkafest.txt"


def test_a_broken_re_upload_keeps_the_earlier_file_and_its_answers(ui_app: UiApp, tmp_path: Path) -> None:
    upload_dir = ui_app.settings.data_dir / "uploads"
    first = tmp_path / "first" / "ferry.txt"
    first.parent.mkdir()
    text = "The Zanthorpe ferry resumed service on Friday after a three-week repair of its hull.\n"
    first.write_text(text)
    assert ingest_uploads(ui_app.assistant, [first], upload_dir, ui_app.settings.max_file_mb).ok
    again = tmp_path / "again" / "ferry.txt"
    again.parent.mkdir()
    again.write_bytes(b"\xff\xfeA\x00B")  # the same name, cut short mid-save
    result = ingest_uploads(ui_app.assistant, [again], upload_dir, ui_app.settings.max_file_mb)
    reason = dict(result.skipped)["ferry.txt"]
    assert "UTF-16" in reason and "the version uploaded earlier stays searchable" in reason
    assert (upload_dir / "ferry.txt").read_text() == text  # the good copy is back, not the broken one
    answer = ui_app.assistant.ask("when did the Zanthorpe ferry resume service?")
    assert answer.citations and answer.citations[0].doc_id == "ferry.txt" and "Friday" in answer.text


def test_only_bad_uploads_give_a_message_and_no_ingest(ui_app: UiApp, tmp_path: Path) -> None:
    wrong = tmp_path / "slides.pptx"
    wrong.write_bytes(b"PK")
    result = ingest_uploads(ui_app.assistant, [wrong], tmp_path / "uploads", 1.0)
    assert not result.ok and "unsupported file type .pptx" in result.message()
    assert not (tmp_path / "uploads").exists() and not wrong.exists()


# --- the named API endpoint ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(ui_app: UiApp) -> Client:
    return Client(ui_app.url, verbose=False)


def test_api_ask_returns_the_answer_and_its_citations(client: Client) -> None:
    result = client.predict("when did the army leave Hama?", api_name="/ask")
    assert result["question"] == "when did the army leave Hama?"
    assert not result["refused"] and "December 5" in result["answer"]
    assert result["citations"], result
    first = result["citations"][0]
    assert {"marker", "doc_id", "title", "outlet", "published", "quote", "start", "end"} <= set(first)
    assert f"[{first['marker']}]" in result["answer"]


def test_concurrent_sessions_each_get_their_own_answer(ui_app: UiApp) -> None:
    # Sessions are answered in parallel now (RAG_UI_CONCURRENCY), over one shared Assistant.
    questions = ["when did the army leave Hama?", "how far is Hama from Damascus?",
                 "Who is Iran's ambassador to Syria?", "what is post-series depression?"] * 2
    # gradio_client's own 20 s limit is too short for a queued answer on a busy 2-core machine.
    clients = [Client(ui_app.url, verbose=False, httpx_kwargs={"timeout": 600}) for _ in questions]
    barrier = threading.Barrier(len(questions))

    def ask(i: int) -> dict[str, object]:
        barrier.wait()
        return clients[i].predict(questions[i], api_name="/ask")

    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(ask, range(len(questions))))
    for question, result in zip(questions, results, strict=True):
        assert result == ui_app.assistant.ask(question).to_dict()


def test_api_ask_takes_k_and_history_for_a_follow_up(client: Client) -> None:
    history = [["when did the army leave Hama?", "December 5 [1]"]]
    result = client.predict("and who led the offensive?", 3, "extractive", history, api_name="/ask")
    assert "Hama" in result["rewritten_question"]
    assert result["question"] == "and who led the offensive?"


def test_api_refusal_is_an_answer_not_an_error(client: Client) -> None:
    result = client.predict("what is post-series depression?", api_name="/ask")
    assert result["refused"] and result["citations"] == []


def test_api_llm_error_is_a_plain_message_and_the_app_keeps_working(client: Client) -> None:
    with pytest.raises(Exception, match="Could not reach the LLM server"):
        client.predict("when did the army leave Hama?", 5, "openai", api_name="/ask")
    assert client.predict("when did the army leave Hama?", api_name="/ask")["citations"]


# --- streaming, with a real OpenAI-compatible server -------------------------------------------------


@pytest.mark.llm
def test_chat_streams_llm_tokens_into_the_bubble(ui_app: UiApp, llm_server: str) -> None:
    # Same index as the served app, but an Assistant whose LLM is the llama.cpp server. Prose replies
    # stream token by token; JSON replies (the default) show their text once parsed (tests/test_llm.py).
    assistant = Assistant(ui_app.settings.with_(openai_base_url=llm_server, llm="openai", llm_max_tokens=48,
                                                llm_timeout=LLM_TIMEOUT_S, llm_reply_format="text"))
    blocks = ui_app.module.build_app(assistant)
    respond = next(f.fn for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == "respond")

    updates = list(respond("when did the army leave Hama?", [], [], 3, "LLM"))

    bubbles = [chat[-1]["content"] for _, chat, _, _ in updates]
    assert bubbles[0] == "…"  # the question shows at once, before retrieval
    assert sum(b.endswith("▍") for b in bubbles) >= 2, bubbles  # token deltas arrive one by one
    assert not bubbles[-1].endswith("▍") and "rag-error" not in bubbles[-1]
    _, _, turns, panel = updates[-1]
    assert turns[-1]["answer"]["mode"] != "extractive" and 'class="rag-turn"' in panel


# --- launch settings -----------------------------------------------------------------------------


def test_launch_binds_to_the_settings_address_with_optional_auth(ui_app: UiApp) -> None:
    settings = ui_app.settings.with_(host="0.0.0.0", port=8123, auth_user="ed", auth_password="s3cret")
    kwargs = ui_app.module.launch_kwargs(settings)
    assert (kwargs["server_name"], kwargs["server_port"], kwargs["auth"]) == ("0.0.0.0", 8123, ("ed", "s3cret"))
    assert ui_app.module.launch_kwargs(ui_app.settings)["auth"] is None
    with pytest.raises(RagError, match="RAG_AUTH_PASSWORD"):
        ui_app.module.launch_kwargs(ui_app.settings.with_(auth_user="ed"))


def test_a_busy_port_is_a_clear_message_not_a_traceback(ui_app: UiApp, tmp_path: Path) -> None:
    # The port the fixture's app is serving on is busy: `python app.py` and `rag serve` both say so.
    port = ui_app.url.rstrip("/").rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update(RAG_DATA_DIR=str(tmp_path / "data"), RAG_PORT=port)
    for command in ([sys.executable, "app.py"], [sys.executable, "-m", "rag", "serve"]):
        run = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode != 0, command
        assert f"Cannot serve on 127.0.0.1:{port}" in run.stderr and "RAG_PORT" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    assert not (tmp_path / "data" / "index").exists()  # it stopped before building an index
