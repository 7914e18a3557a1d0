"""The MiniLM encoder in a helper process, started before the slow imports of a one-shot command.

A cold `rag ask` imports chromadb (about 1.3 s) and loads the ONNX model (about 0.5 s with onnxruntime's
own import); in one process those add up. `EncoderProcess.start()` launches the model in a child process
first, so it loads on the other core while this one imports chromadb and opens the store; by the time
retrieval wants the question's vector, it is ready. Only short-lived commands use it: a resident process
(the UI, `rag serve`, an `Assistant` in a program) loads the model once, in process.

The child is this module run as a script (`python -m rag.ingest.embed_process BATCH`): spawned, not
forked, so it works wherever Python does and inherits no half-initialised library state. Requests and
replies are pickled over its stdin and stdout; it exits when stdin closes.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import threading
from typing import IO, Any

from rag.errors import RagError

# The encoder methods the child runs; anything else is refused, so the pipe is not a general RPC.
_METHODS = ("embed_with_spans", "get_query_embedding", "get_text_embedding", "get_text_embedding_batch")


class EncoderProcess:
    """An `Embedder` (with `embed_with_spans`) whose model runs in a child process; same vectors as
    `MiniLMEncoder`, which it runs. Thread-safe: one request at a time goes through the pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], model_name: str, embed_batch_size: int) -> None:
        self.model_name = model_name
        self.embed_batch_size = embed_batch_size
        self._proc = proc
        self._lock = threading.Lock()
        self._local: Any = None  # the in-process encoder, once the child has gone away

    @classmethod
    def start(cls, embed_batch_size: int) -> EncoderProcess:
        """Launch the child; returns at once (the model loads in the background)."""
        proc = subprocess.Popen([sys.executable, "-m", __name__, str(embed_batch_size)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        from rag.ingest.embed import MINILM_NAME  # after the launch: it imports numpy

        return cls(proc, MINILM_NAME, embed_batch_size)

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            if self._local is None:
                stdin, stdout = self._proc.stdin, self._proc.stdout
                assert stdin is not None and stdout is not None
                try:
                    pickle.dump((method, args), stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    stdin.flush()
                    ok, value = pickle.load(stdout)
                except (BrokenPipeError, EOFError, OSError, ValueError):
                    # The child died (killed, out of memory): the answer still comes, from the model loaded
                    # here; a real problem with the model raises its own RagError from that load.
                    from rag.ingest.embed import MiniLMEncoder

                    self._local = MiniLMEncoder(embed_batch_size=self.embed_batch_size)
                else:
                    if not ok:
                        raise RagError(value)
                    return value
        if method not in _METHODS:
            raise RagError(f"unknown encoder method {method!r}")
        return getattr(self._local, method)(*args)

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> Any:
        """As `MiniLMEncoder.embed_with_spans`."""
        return self._call("embed_with_spans", texts, spans)

    def get_query_embedding(self, query: str) -> list[float]:
        """As `MiniLMEncoder.get_query_embedding` (the child's encoder remembers recent queries)."""
        return self._call("get_query_embedding", query)

    def get_text_embedding(self, text: str) -> list[float]:
        """As `MiniLMEncoder.get_text_embedding`."""
        return self._call("get_text_embedding", text)

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[list[float]]:
        """As `MiniLMEncoder.get_text_embedding_batch`."""
        return self._call("get_text_embedding_batch", texts)

    def close(self, wait: bool = True) -> None:
        """End the child: closing its stdin is its signal to exit. `wait=False` does not wait for it to
        finish exiting (about 0.1 s), for a command that is about to exit itself."""
        if self._proc.stdin:
            with contextlib.suppress(OSError):  # a child that already died leaves a broken pipe
                self._proc.stdin.close()
        if wait:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> EncoderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(batch_size: int, requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: load the model, then answer pickled (method, args) requests until EOF.

    A failure is sent back as (False, message) so the parent can show it as a `RagError`; the model
    failing to load is reported on the first request."""
    from rag.ingest.embed import MiniLMEncoder

    encoder: MiniLMEncoder | None = None
    error = ""
    try:
        encoder = MiniLMEncoder(embed_batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001 -- any load failure goes back to the parent as its message
        error = str(exc) if isinstance(exc, RagError) else f"The embedding model could not load: {exc}"
    while True:
        try:
            method, args = pickle.load(requests)
        except EOFError:
            return
        if encoder is None or method not in _METHODS:
            reply: tuple[bool, Any] = (False, error or f"unknown encoder method {method!r}")
        else:
            try:
                reply = (True, getattr(encoder, method)(*args))
            except Exception as exc:  # noqa: BLE001 -- reported to the parent, which raises it
                reply = (False, f"Embedding failed: {exc}")
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


def _main() -> None:
    import os
    import signal

    # Ctrl-C reaches the whole process group: the parent reports it, and this child ends when its input
    # closes, instead of printing a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replies get stdout's pipe to themselves: anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 32, sys.stdin.buffer, replies)


if __name__ == "__main__":
    _main()
