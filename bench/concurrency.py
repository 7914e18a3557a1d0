"""Concurrency benchmark: many users at once, through the UI and through one shared `Assistant`.

    python bench/concurrency.py [--users 20] [--rounds 3] [--out bench/results/concurrency.json]

Over one index of seeds/ in a temp dir, `users` different gold questions are asked at the same moment
(a barrier releases them together), `rounds` times:

1. **ui**: each user is its own Gradio session (a `gradio_client.Client`) calling app.py's `/ask` over
   HTTP, against the app served in this process twice: with RAG_UI_CONCURRENCY=1 (what the UI did
   before: one answer at a time) and with the default setting;
2. **threads**: each user is a thread calling `Assistant.ask` on the one shared assistant.

Every answer is compared with the answer to the same question asked alone beforehand: a different answer
(or one naming another question) is cross-talk. Reports errors, cross-talk, and p50/p95 latency per
request; the serial latency (one question at a time) is measured in the same run for the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.assistant import Assistant
from rag.eval.gold import load_gold
from rag.settings import PROJECT_ROOT, Settings

Ask = Callable[[str], dict[str, Any]]


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def burst(asks: Sequence[Ask], questions: Sequence[str], expected: dict[str, dict[str, Any]],
          rounds: int) -> dict[str, Any]:
    """Each of `asks` (one per user) asks its question at the same moment, `rounds` times."""
    latencies: list[float] = []
    errors: list[str] = []
    crosstalk: list[str] = []
    lock = threading.Lock()
    for _ in range(rounds):
        barrier = threading.Barrier(len(asks))

        def user(i: int, barrier: threading.Barrier = barrier) -> None:
            question = questions[i]
            barrier.wait()
            t0 = time.perf_counter()
            try:
                got = asks[i](question)
            except Exception as exc:  # counted, not raised: the benchmark reports every failure
                with lock:
                    errors.append(f"{question}: {type(exc).__name__}: {exc}")
                return
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if got != expected[question]:
                    crosstalk.append(f"{question!r} got the answer to {got.get('question')!r}")

        with ThreadPoolExecutor(len(asks)) as pool:
            list(pool.map(user, range(len(asks))))
    return {"requests": rounds * len(asks), "errors": len(errors), "crosstalk": len(crosstalk),
            "p50_s": round(percentile(latencies, 50), 3) if latencies else None,
            "p95_s": round(percentile(latencies, 95), 3) if latencies else None,
            "max_s": round(max(latencies), 3) if latencies else None,
            "error_examples": errors[:3], "crosstalk_examples": crosstalk[:3]}


def serve(settings: Settings, concurrency: int, questions: Sequence[str]) -> tuple[Any, str]:
    """app.py's UI over its own assistant of the same index, launched in this process on a free port and
    warmed with one pass of the questions; (blocks, url)."""
    spec = importlib.util.spec_from_file_location("app", PROJECT_ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = settings.with_(port=free_port(), ui_concurrency=concurrency)
    assistant = Assistant(settings)
    for question in questions:
        assistant.ask(question)
    blocks = module.build_app(assistant)
    blocks.launch(**module.launch_kwargs(settings), prevent_thread_lock=True, quiet=True)
    return blocks, f"http://127.0.0.1:{settings.port}/"


def ui_asks(url: str, users: int) -> list[Ask]:
    """One Gradio session per user, each calling /ask."""
    from gradio_client import Client

    # gradio_client gives up after 20 s by default; on a busy machine a queued answer can take longer.
    clients = [Client(url, verbose=False, httpx_kwargs={"timeout": 600}) for _ in range(users)]
    return [lambda q, c=client: c.predict(q, api_name="/ask") for client in clients]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark, print a markdown table and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "concurrency.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    questions = [g.question for g in load_gold(PROJECT_ROOT / "eval" / "gold.jsonl")][: args.users]
    load_before = os.getloadavg()  # other work on the machine shows in every figure: record how much
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings(data_dir=Path(tmp), llm="extractive"))
        assistant.seed_if_empty()
        expected: dict[str, dict[str, Any]] = {}
        serial: list[float] = []
        for question in questions * 2:  # the first pass warms caches; the second is timed
            t0 = time.perf_counter()
            expected[question] = assistant.ask(question).to_dict()
            serial.append(time.perf_counter() - t0)
        serial = serial[len(questions):]
        results: dict[str, Any] = {"serial": {"requests": len(serial), "p50_s": round(percentile(serial, 50), 3),
                                              "p95_s": round(percentile(serial, 95), 3)}}
        results["threads"] = burst([lambda q: assistant.ask(q).to_dict()] * args.users, questions, expected,
                                   args.rounds)
        default_limit = Settings.from_env().ui_concurrency
        for name, limit in (("ui, 1 at a time (before)", 1), (f"ui, {default_limit} at a time (now)", default_limit)):
            blocks, url = serve(assistant.settings, limit, questions)
            try:
                results[name] = burst(ui_asks(url, args.users), questions, expected, args.rounds)
            finally:
                blocks.close()
    record = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "users": args.users, "rounds": args.rounds, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{args.users} users at once x {args.rounds} rounds, extractive answers over seeds/ "
          f"({os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after)\n")
    print("| run | requests | errors | cross-talk | p50 s | p95 s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['requests']} | {r.get('errors', 0)} | {r.get('crosstalk', 0)} | {r['p50_s']} | "
              f"{r['p95_s']} |")


if __name__ == "__main__":
    main()
