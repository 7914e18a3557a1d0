"""The `rag` command: ingest articles, ask questions, run the UI (and, later, the eval)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

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
                                        "deleted from the folder leave the index.")
    ingest.add_argument("path", type=Path, help="folder or file of articles")
    ingest.add_argument("--rebuild", action="store_true", help="drop the whole index first and start over")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = sub.add_parser("ask", help="answer a question with citations",
                         description="Answer a question from the indexed articles (the seeds the first time).")
    ask.add_argument("question", help='e.g. "when did the army leave Hama?"')
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (same as Answer.to_dict())")
    ask.add_argument("--k", type=int, default=None, help="number of passages to retrieve (default: RAG_TOP_K=5)")
    ask.add_argument("--llm", choices=["extractive", "openai"], default=None,
                     help="answer mode (default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set)")

    serve = sub.add_parser("serve", help="start the chat UI (app.py)",
                           description="Start the Gradio chat UI on RAG_HOST:RAG_PORT (127.0.0.1:7860).")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 7860)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index is left consistent (re-run to finish).", file=sys.stderr)
        return 130


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.assistant import Assistant

    report = Assistant(settings).ingest(args.path, rebuild=args.rebuild, progress=not args.quiet)
    for name, reason in report.skipped:
        print(f"warning: skipped {name}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.assistant import Assistant

    if args.k is not None and args.k < 1:
        raise RagError("--k must be at least 1.")
    answer = Assistant(settings).ask(args.question, k=args.k, llm=args.llm)
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
        print(textwrap.indent(textwrap.fill(f"“{c.quote}”", width=96), "      "))
    return 0


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


COMMANDS = {"ingest": _ingest, "ask": _ask, "serve": _serve}
