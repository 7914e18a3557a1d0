"""The chat UI: a thin Gradio shell over `rag.Assistant`.

Run `python app.py` or `rag serve`. Only event wiring lives here; rendering, feedback and uploads are in
`rag.ui`. The one environment variable touched is Gradio's analytics switch, set before Gradio is
imported (Gradio reads it at import), so that nothing phones home.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.models import Answer  # noqa: E402
from rag.retrieve.timeframe import parse_as_of  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.ui import (  # noqa: E402
    FeedbackLog,
    ingest_uploads,
    rating_of,
    render_answer,
    render_error,
    render_panel,
    render_partial,
    render_sources,
)

log = logging.getLogger("rag.app")

EXAMPLES = [
    "when did the army leave Hama?",
    "and who led the offensive?",
    "Who is Iran's ambassador to Syria?",
    "Which newspaper reported Iran's warning to Assad?",
]
MODES = {"Extractive (offline quotes)": "extractive", "LLM": "openai"}
HISTORY_TURNS = 6  # the condense step only needs the last few turns
CONCURRENCY = "assistant"  # one shared queue: the index is not written and read at the same time

# Cited-marker clicks: bring the source card into view (opening "Earlier answers" if it is folded there)
# and flash it. Capture phase, so the chatbot's own link handling (new tab) never sees the click.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  const folded = card.closest("details");
  if (folded) folded.open = true;
  document.querySelectorAll(".rag-source.rag-active").forEach((el) => el.classList.remove("rag-active"));
  card.classList.add("rag-active");
  card.scrollIntoView({behavior: "smooth", block: "center"});
}, true);
</script>
"""

CSS = """
.rag-cite { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 8px 0; scroll-margin: 80px; transition: box-shadow .3s, border-color .3s; }
.rag-source:target, .rag-source.rag-active { border-color: var(--color-accent);
  box-shadow: 0 0 0 3px var(--color-accent-soft); }
.rag-source-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; }
.rag-passage { margin: 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.92em; line-height: 1.45; }
.rag-passage mark { background: #ffe58a; color: inherit; padding: 0 1px; }
.rag-turn-head { font-weight: 600; margin-top: 4px; }
.rag-earlier summary { cursor: pointer; margin-top: 10px; color: var(--body-text-color-subdued); }
.rag-empty, .rag-meta { color: var(--body-text-color-subdued); }
.rag-refusal { border-left: 3px solid #d9a400; padding-left: 8px; }
.rag-error { border-left: 3px solid #d33; padding-left: 8px; }
.rag-disagree { border-left: 3px solid #d9a400; padding-left: 8px; }
.rag-disagree-note { font-size: 0.9em; margin: 4px 0; padding: 4px 8px; border-radius: 6px;
  background: #fff6d6; color: #5c4400; }
#sources { max-height: 75vh; overflow-y: auto; }
"""

# System fonts only: Gradio's default theme would fetch Google Fonts from a CDN.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks app over `assistant`; launch it with `launch()` or `.launch(...)` in tests."""
    settings = assistant.settings
    feedback = FeedbackLog(settings.feedback_file)
    llm_available = bool(settings.openai_api_key or settings.openai_base_url)
    default_mode = next(label for label, mode in MODES.items() if mode == settings.resolved_llm)

    def respond(question: str, chat: list[dict[str, Any]], turns: list[dict[str, Any]], k: float,
                mode_label: str, as_of_text: str = "") -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat; the sources panel follows when it is done."""
        question = (question or "").strip()
        if not question:
            yield gr.skip(), chat, turns, gr.skip()
            return
        turn = len(turns) + 1
        chat = [*chat, {"role": "user", "content": question}, {"role": "assistant", "content": "…"}]
        yield "", chat, turns, gr.skip()
        history = [(t["asked"], t["answer"]["answer"]) for t in turns if "answer" in t][-HISTORY_TURNS:]
        text = ""
        answer: Answer | None = None
        try:
            as_of = parse_as_of(as_of_text)
            for item in assistant.stream(question, history, k=int(k), llm=MODES.get(mode_label), as_of=as_of):
                if isinstance(item, Answer):
                    answer = item
                else:
                    text += item
                    chat = [*chat[:-1], {"role": "assistant", "content": render_partial(text, turn)}]
                    yield gr.skip(), chat, turns, gr.skip()
        except RagError as exc:
            chat = [*chat[:-1], {"role": "assistant", "content": render_error(str(exc))}]
            turns = [*turns, {"question": question, "error": str(exc), "index": len(chat) - 1}]
            yield gr.skip(), chat, turns, gr.skip()
            return
        except Exception as exc:  # a bug: keep the traceback in the log, keep the app usable
            log.exception("answering %r failed", question)
            message = f"unexpected {type(exc).__name__}: {exc} (the details are in the server log)"
            chat = [*chat[:-1], {"role": "assistant", "content": render_error(message)}]
            turns = [*turns, {"question": question, "error": message, "index": len(chat) - 1}]
            yield gr.skip(), chat, turns, gr.skip()
            return
        assert answer is not None
        chat = [*chat[:-1], {"role": "assistant", "content": render_answer(answer, turn)}]
        record = {"question": question, "asked": answer.rewritten_question or question,
                  "answer": answer.to_dict(), "k": int(k), "index": len(chat) - 1,
                  "sources": render_sources(answer, turn)}
        turns = [*turns, record]
        yield gr.skip(), chat, turns, render_panel([t["sources"] for t in turns if "sources" in t])

    def ask(question: str, k: int = settings.top_k, mode: str = "", history: list[list[str]] | None = None,
            as_of: str = "") -> dict[str, Any]:
        """Answer `question` with citations: the JSON of `rag ask --json`.

        `mode` is "extractive" or "openai" (empty: the server's default); `history` holds earlier
        [question, answer] pairs for a follow-up; `as_of` a YYYY-MM-DD day to answer as of (empty: today).
        """
        llm = MODES.get(mode, mode) or None  # the UI's labels work too
        if llm not in (None, "extractive", "openai"):
            raise gr.Error(f"mode must be 'extractive' or 'openai', not {mode!r}.")
        try:
            answer = assistant.ask(question, [(q, a) for q, a in history or []], k=int(k), llm=llm,
                                   as_of=parse_as_of(as_of))
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        return answer.to_dict()

    def on_like(turns: list[dict[str, Any]], data: gr.LikeData) -> None:
        """Append the rated answer, its question and citations to the feedback file."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = next((t for t in turns if t.get("index") == index), None)
        if turn is None:
            return
        entry = {"question": turn["question"], **(turn.get("answer") or {"error": turn.get("error")})}
        entry["k"] = turn.get("k")
        feedback.append(rating_of(data.liked), entry)
        gr.Info("Thanks: feedback saved.")

    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)  # noqa: B008
               ) -> tuple[str, None]:
        """Check, save and ingest the uploaded articles; report per file."""
        if not files:
            return "Choose one or more files first.", None
        result = ingest_uploads(assistant, files, settings.data_dir / "uploads", settings.max_upload_mb,
                                progress=progress)
        return result.message(), None

    def reset() -> tuple[list[Any], list[Any], str]:
        return [], [], render_panel([])

    with gr.Blocks(title="News QA", analytics_enabled=False) as app:
        turns = gr.State([])
        with gr.Sidebar(open=True, label="Settings"):
            gr.Markdown("### Settings")
            k = gr.Slider(1, 10, value=min(max(settings.top_k, 1), 10), step=1, label="Passages to search", elem_id="k",
                          info="How many article passages each answer draws on.")
            mode = gr.Radio(list(MODES), value=default_mode, label="Answer mode", interactive=llm_available,
                            elem_id="mode",
                            info=None if llm_available else
                            "LLM answers need OPENAI_API_KEY or OPENAI_BASE_URL set when the app starts.")
            as_of_box = gr.Textbox(label="As of (YYYY-MM-DD)", placeholder="today", elem_id="as-of", max_lines=1,
                                   info="Answer as on that day: articles published later are not used.")
            new_chat = gr.Button("New conversation", size="sm")
            gr.Markdown("### Add articles")
            files = gr.File(file_count="multiple", label="txt, md, html, json, jsonl "
                            f"(up to {settings.max_upload_mb:g} MB each)", elem_id="upload")
            ingest_btn = gr.Button("Ingest", variant="secondary", elem_id="ingest")
            upload_status = gr.Markdown(elem_id="upload-status")
        gr.Markdown("## Ask the articles\nAnswers quote the indexed news articles; click a marker such as "
                    "**[1]** to see its source with the supporting quote highlighted.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="chat", height=560, label="Chat", buttons=["copy"],
                                     sanitize_html=True, layout="bubble",
                                     placeholder="Ask about the articles, or click an example below.")
                with gr.Row():
                    question = gr.Textbox(placeholder="Ask a question about the articles…", show_label=False,
                                          scale=6, elem_id="question", autofocus=True, submit_btn=False)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row(elem_id="examples"):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_panel([]), elem_id="sources")

        chat_io = {"fn": respond, "inputs": [question, chatbot, turns, k, mode, as_of_box],
                   "outputs": [question, chatbot, turns, sources], "api_visibility": "private",
                   "concurrency_id": CONCURRENCY, "concurrency_limit": 1}
        question.submit(**chat_io)
        send.click(**chat_io)
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(lambda text=text: text, None, question, queue=False,
                         api_visibility="private").then(**chat_io)
        chatbot.like(on_like, [turns], None, api_visibility="private")
        new_chat.click(reset, None, [chatbot, turns, sources], api_visibility="private")
        chatbot.clear(reset, None, [chatbot, turns, sources], api_visibility="private")
        ingest_btn.click(upload, [files], [upload_status, files], api_visibility="private",
                         concurrency_id=CONCURRENCY, concurrency_limit=1)
        gr.api(ask, api_name="ask", concurrency_id=CONCURRENCY, concurrency_limit=1)
    return app


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments for `Blocks.launch`: address, auth, the offline theme and the marker script."""
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise RagError("Set both RAG_AUTH_USER and RAG_AUTH_PASSWORD for basic auth, or neither.")
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user else None
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": auth,
        # Gradio's own cap is a backstop against huge uploads; our per-file limit gives the message.
        "max_file_size": f"{max(1, int(settings.max_upload_mb * 10))}mb",
        "theme": THEME,
        "css": CSS,
        "head": HEAD,
        "footer_links": ["api"],
    }


def launch(settings: Settings) -> None:
    """Build the index if needed, then serve the chat UI until interrupted (`rag serve` calls this)."""
    kwargs = launch_kwargs(settings)  # first: a settings mistake should not wait for an index build
    assistant = Assistant(settings)
    print(f"Opening the index in {settings.index_dir} (built from {settings.seeds_dir} the first time)…")
    assistant.retriever  # noqa: B018  -- build it now, not during the first question
    build_app(assistant).launch(**kwargs)


if __name__ == "__main__":
    try:
        launch(Settings.from_env())
    except RagError as exc:  # bad settings, auth half set...: say what to fix, no traceback
        raise SystemExit(f"error: {exc}") from None
