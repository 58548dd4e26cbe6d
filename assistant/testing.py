"""Fakes shipped with the package, for tests and for trying the app without models.

``HashingEmbeddings`` is a deterministic LangChain ``Embeddings`` (bag of hashed words),
so similar texts get similar vectors; ``ScriptedLLM`` is a runnable LLM that records the
prompts it was shown and replies from a script. ``running_app`` starts ``app.py`` in a
subprocess on a free loopback port, for browser, load and fault tests.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig

__all__ = ["HashingEmbeddings", "ScriptedLLM", "word_count_tokens", "prompt_text",
           "free_port", "running_app"]

_WORD = re.compile(r"\w+", re.UNICODE)


def word_count_tokens(text: str) -> int:
    """A stand-in for a word-piece tokenizer: words and punctuation, plus [CLS] and [SEP]."""
    return len(re.findall(r"\w+|[^\w\s]", text)) + 2


class HashingEmbeddings(Embeddings):
    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def prompt_text(prompt: Any) -> str:
    """Everything a model is shown, as one string (for assertions on what it saw)."""
    if isinstance(prompt, PromptValue):
        return "\n".join(f"{m.type}: {m.content}" for m in prompt.to_messages())
    return str(prompt)


Reply = str | Callable[[str], str]


class ScriptedLLM(Runnable[Any, str]):
    """Replies with the next scripted reply (the last one repeats); records each prompt.

    A reply may be a callable that receives the prompt text, so a test can answer from
    what the model was actually shown.
    """

    def __init__(self, replies: Sequence[Reply] = ("I could not find this in the articles.",)):
        self.replies = list(replies)
        self.prompts: list[str] = []

    def _next(self, prompt: Any) -> str:
        text = prompt_text(prompt)
        self.prompts.append(text)
        reply = self.replies[min(len(self.prompts) - 1, len(self.replies) - 1)]
        return reply(text) if callable(reply) else reply

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> str:
        return self._next(input)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str]:
        reply = self._next(input)
        for piece in re.findall(r"\S+\s*|\s+", reply):
            yield piece


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(args: Sequence[str], log: Path, *, env: dict[str, str] | None = None,
                timeout_s: float = 240) -> Iterator[str]:
    """``python app.py ARGS --port P`` until the block ends; yields its URL.

    Raises RuntimeError with the end of the app's log if it exits or does not answer
    within ``timeout_s``.
    """
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(root / "app.py"), *args, "--port", str(port)],
                                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, proc, log, timeout_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not start within {timeout_s} s:\n{log.read_text()[-3000:]}")
