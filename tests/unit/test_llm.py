"""The LLM backends: HTTP ones against a real local server, the rest without a model."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate

from assistant import llm as llm_module
from assistant.errors import (
    ConfigError,
    ContextOverflowError,
    LLMError,
    LLMUnavailableError,
    ModelError,
)
from assistant.llm import (
    NO_ANSWER,
    FakeLLM,
    LlamaCppLLM,
    OllamaLLM,
    OpenAICompatibleLLM,
    first_passage_reply,
    load_llm,
    open_gguf,
    to_chat_messages,
)
from assistant.settings import Settings
from assistant.testing import ScriptedLLM

PIECES = ["Russia", " could", " supply", " 55", " billion", " cubic meters [1]."]


def chat_prompt(question: str = "How much gas?") -> Any:
    template = ChatPromptTemplate.from_messages(
        [("system", "Answer from the passages; cite like [1]."), ("human", "{question}")]
    )
    return template.invoke({"question": question})


# ---------------------------------------------------------------- a tiny chat server


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Reply = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class ChatServer:
    url: str
    seen: list[Seen] = field(default_factory=list)
    reply: Reply | None = None
    release: threading.Event = field(default_factory=threading.Event)


def send(handler: BaseHTTPRequestHandler, status: int, ctype: str, chunks: list[bytes]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Connection", "close")
    handler.end_headers()
    for chunk in chunks:
        handler.wfile.write(chunk)
        handler.wfile.flush()


def sse(events: list[Any]) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        lines = [b": keep-alive comment\n\n"]
        for event in events:
            data = event if isinstance(event, str) else json.dumps(event)
            lines.append(f"data: {data}\n\n".encode())
        send(handler, 200, "text/event-stream", lines)

    return reply


def openai_chunks(pieces: list[str]) -> list[Any]:
    events: list[Any] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    events += [{"choices": [], "usage": {"completion_tokens": len(pieces)}}, "[DONE]"]
    return events


def ndjson(lines: list[dict[str, Any]]) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, "application/x-ndjson", [json.dumps(x).encode() + b"\n" for x in lines])

    return reply


def error(status: int, body: dict[str, Any]) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        send(handler, status, "application/json", [json.dumps(body).encode()])

    return reply


@pytest.fixture
def server() -> Iterator[ChatServer]:
    state = ChatServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the http.server hook name
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.seen.append(Seen(self.path, dict(self.headers), body))
            assert state.reply is not None
            state.reply(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openai_llm(url: str, **kwargs: Any) -> OpenAICompatibleLLM:
    args: dict[str, Any] = {"context_size": 2048, "max_tokens": 64, "timeout_s": 5.0}
    return OpenAICompatibleLLM(f"{url}/v1", "test-model", **(args | kwargs))


def ollama_llm(url: str, **kwargs: Any) -> OllamaLLM:
    args: dict[str, Any] = {"context_size": 2048, "max_tokens": 64, "timeout_s": 5.0}
    return OllamaLLM(url, "qwen2.5:0.5b", **(args | kwargs))


# ---------------------------------------------------------------- OpenAI-compatible


def test_openai_streams_pieces_in_order_and_sends_the_request(server: ChatServer) -> None:
    server.reply = sse(openai_chunks(PIECES))
    llm = openai_llm(server.url, api_key="sk-test")

    assert list(llm.stream(chat_prompt("How much gas?"))) == PIECES
    request = server.seen[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.body["model"] == "test-model"
    assert request.body["stream"] is True
    assert request.body["temperature"] == 0
    assert request.body["max_tokens"] == 64
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert request.body["messages"][1]["content"] == "How much gas?"


def test_openai_invoke_is_the_joined_stream(server: ChatServer) -> None:
    server.reply = sse(openai_chunks(PIECES))
    llm = openai_llm(server.url)

    assert llm.invoke("a plain question") == "".join(PIECES)
    assert "Authorization" not in server.seen[0].headers
    assert server.seen[0].body["messages"] == [{"role": "user", "content": "a plain question"}]


def test_openai_unreachable_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    llm = OpenAICompatibleLLM(url, "m", context_size=2048, max_tokens=16)

    with pytest.raises(LLMUnavailableError, match="127.0.0.1") as info:
        llm.invoke("hi")
    assert "ASSISTANT_LLM_URL" in str(info.value)


def test_openai_server_too_slow_is_unavailable(server: ChatServer) -> None:
    server.reply = lambda handler: server.release.wait(5)
    llm = openai_llm(server.url, timeout_s=0.2)

    with pytest.raises(LLMUnavailableError, match="cannot reach"):
        llm.invoke("hi")


def test_openai_server_error_carries_its_message(server: ChatServer) -> None:
    server.reply = error(500, {"error": {"message": "CUDA out of memory", "type": "server"}})

    with pytest.raises(LLMError, match="CUDA out of memory") as info:
        openai_llm(server.url).invoke("hi")
    assert not isinstance(info.value, (LLMUnavailableError, ContextOverflowError))
    assert "500" in str(info.value)


def test_openai_bad_key_says_which_setting(server: ChatServer) -> None:
    server.reply = error(401, {"error": {"message": "Incorrect API key provided"}})

    with pytest.raises(LLMError, match="ASSISTANT_LLM_API_KEY"):
        openai_llm(server.url, api_key="wrong").invoke("hi")


@pytest.mark.parametrize(
    "body",
    [
        {  # OpenAI and llama-cpp-python's server
            "error": {
                "message": "This model's maximum context length is 2048 tokens. However, you "
                "requested 3000 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
        {  # vLLM
            "object": "error",
            "message": "This model's maximum context length is 4096 tokens.",
            "type": "BadRequestError",
            "code": 400,
        },
        {  # llama.cpp's own server
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
            }
        },
    ],
)
def test_openai_context_errors(server: ChatServer, body: dict[str, Any]) -> None:
    server.reply = error(400, body)

    with pytest.raises(ContextOverflowError, match="too long"):
        openai_llm(server.url).invoke("hi")


def test_openai_error_event_inside_the_stream(server: ChatServer) -> None:
    server.reply = sse([*openai_chunks(["a"])[:2], {"error": {"message": "worker died"}}])

    with pytest.raises(LLMError, match="worker died"):
        openai_llm(server.url).invoke("hi")


def by_stream_flag(server: ChatServer, streamed: Reply, plain: Reply) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        (streamed if server.seen[-1].body["stream"] else plain)(handler)

    return reply


def test_openai_silent_stream_failure_is_asked_again_unstreamed(server: ChatServer) -> None:
    # What llama-cpp-python's server does with a prompt longer than its context.
    context_error = {"error": {"message": "maximum context length is 2048 tokens"}}
    server.reply = by_stream_flag(server, sse([]), error(400, context_error))

    with pytest.raises(ContextOverflowError, match="2048"):
        openai_llm(server.url).invoke("a long prompt")
    assert [s.body["stream"] for s in server.seen] == [True, False]


def test_openai_silent_stream_failure_then_an_answer(server: ChatServer) -> None:
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "55 [1]"}}]}
    server.reply = by_stream_flag(server, sse([]), error(200, answer))

    assert openai_llm(server.url).invoke("q") == "55 [1]"


def test_openai_stream_cut_off_midway(server: ChatServer) -> None:
    server.reply = sse(openai_chunks(PIECES)[:3])  # no finish_reason, no [DONE]

    with pytest.raises(LLMError, match="broke off"):
        list(openai_llm(server.url).stream("q"))
    assert len(server.seen) == 1  # what was already shown is not asked for again


def test_openai_stream_without_done_marker_but_finished(server: ChatServer) -> None:
    server.reply = sse(openai_chunks(PIECES)[:-1])

    assert openai_llm(server.url).invoke("q") == "".join(PIECES)


def test_openai_garbage_in_the_stream(server: ChatServer) -> None:
    server.reply = sse(["<html>proxy error</html>"])

    with pytest.raises(LLMError, match="not a JSON object"):
        openai_llm(server.url).invoke("q")


# ---------------------------------------------------------------- Ollama


def test_ollama_streams_pieces_in_order_and_sends_the_request(server: ChatServer) -> None:
    lines = [{"message": {"role": "assistant", "content": p}, "done": False} for p in PIECES]
    server.reply = ndjson([*lines, {"message": {"content": ""}, "done": True}])
    llm = ollama_llm(server.url)

    assert list(llm.stream(chat_prompt("How much gas?"))) == PIECES
    assert llm.invoke(chat_prompt()) == "".join(PIECES)
    request = server.seen[0]
    assert request.path == "/api/chat"
    assert request.body["model"] == "qwen2.5:0.5b"
    assert request.body["stream"] is True
    assert request.body["options"] == {"temperature": 0, "num_predict": 64, "num_ctx": 2048}
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]


def test_ollama_unreachable_says_how_to_start_it() -> None:
    llm = OllamaLLM(
        f"http://127.0.0.1:{closed_port()}", "m", context_size=2048, max_tokens=16
    )

    with pytest.raises(LLMUnavailableError, match="ollama serve"):
        llm.invoke("hi")


def test_ollama_missing_model_says_how_to_pull_it(server: ChatServer) -> None:
    server.reply = error(404, {"error": "model 'qwen2.5:0.5b' not found"})

    with pytest.raises(LLMError, match=r"ollama pull qwen2\.5:0\.5b"):
        ollama_llm(server.url).invoke("hi")


def test_ollama_error_line_inside_the_stream(server: ChatServer) -> None:
    server.reply = ndjson([{"message": {"content": "a"}, "done": False}, {"error": "boom"}])

    with pytest.raises(LLMError, match="boom"):
        ollama_llm(server.url).invoke("hi")


def test_ollama_stream_cut_off(server: ChatServer) -> None:
    server.reply = ndjson([{"message": {"content": "a"}, "done": False}])

    with pytest.raises(LLMError, match="broke off"):
        ollama_llm(server.url).invoke("hi")


def test_ollama_server_error(server: ChatServer) -> None:
    server.reply = error(500, {"error": "llama runner process has terminated"})

    with pytest.raises(LLMError, match="runner process has terminated"):
        ollama_llm(server.url).invoke("hi")


# ---------------------------------------------------------------- llama.cpp adapter


class FakeLlama:
    """Just the three methods of llama_cpp.Llama that LlamaCppLLM calls."""

    def __init__(self, pieces: list[str], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def n_ctx(self) -> int:
        return 1024

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split())))

    def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        if self.fail is not None:
            raise self.fail
        yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        for piece in self.pieces:
            yield {"choices": [{"index": 0, "delta": {"content": piece}}]}


def test_llama_adapter_streams_and_counts() -> None:
    fake = FakeLlama(PIECES)
    llm = LlamaCppLLM(fake, max_tokens=32)

    assert llm.context_size == 1024
    assert llm.count_tokens("three small words") == 3
    assert list(llm.stream(chat_prompt("q?"))) == PIECES
    assert llm.invoke("q?") == "".join(PIECES)
    call = fake.calls[0]
    assert call["stream"] is True and call["temperature"] == 0 and call["max_tokens"] == 32
    assert [m["role"] for m in call["messages"]] == ["system", "user"]


def test_llama_adapter_releases_the_lock_when_a_stream_is_dropped() -> None:
    llm = LlamaCppLLM(FakeLlama(PIECES), max_tokens=32)
    stream = llm.stream("q?")
    next(stream)
    stream.close()  # what a caller that stops reading does

    assert llm.invoke("again") == "".join(PIECES)


def test_llama_adapter_context_overflow() -> None:
    fake = FakeLlama([], fail=ValueError("Requested tokens (5000) exceed context window of 1024"))

    with pytest.raises(ContextOverflowError, match="ASSISTANT_LLM_CONTEXT"):
        LlamaCppLLM(fake, max_tokens=32).invoke("q?")


def _install_llama_cpp(monkeypatch: pytest.MonkeyPatch, llama: Callable[..., Any]) -> None:
    """A stand-in ``llama_cpp`` module whose ``Llama`` is ``llama``, for ``open_gguf``."""
    fake_module = type(sys)("llama_cpp")
    fake_module.Llama = llama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", fake_module)


def test_gguf_is_opened_as_the_settings_say(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened: list[dict[str, Any]] = []

    class RecordingLlama(FakeLlama):
        def __init__(self, **kwargs: Any) -> None:
            opened.append(kwargs)
            super().__init__(PIECES)

    _install_llama_cpp(monkeypatch, RecordingLlama)
    path = tmp_path / "model.gguf"

    llm = open_gguf(path, Settings(llm_context=2048, llm_threads=3, llm_max_tokens=40))
    open_gguf(path, Settings(llm_flash_attn=True))

    assert opened[0] == {"model_path": str(path), "n_ctx": 2048, "n_threads": 3,
                         "flash_attn": False, "verbose": False}
    assert opened[1]["flash_attn"] is True and opened[1]["n_ctx"] == 4096
    assert llm.context_size == 1024  # what the loaded model reports, not the request


def test_gguf_that_llama_cpp_cannot_load_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise ValueError("Failed to load model from file")

    _install_llama_cpp(monkeypatch, refuse)

    with pytest.raises(ModelError, match="complete GGUF"):
        open_gguf(tmp_path / "broken.gguf", Settings())


# ---------------------------------------------------------------- prompt conversion, fake


def test_messages_from_prompt_value_and_str() -> None:
    assert to_chat_messages(chat_prompt("Q")) == [
        {"role": "system", "content": "Answer from the passages; cite like [1]."},
        {"role": "user", "content": "Q"},
    ]
    assert to_chat_messages("Q") == [{"role": "user", "content": "Q"}]


def test_fake_reply_quotes_the_first_sentence_of_passage_one() -> None:
    prompt = (
        "Passage [1]: Russia could supply up to 55 billion cubic meters of gas to Iran a "
        "year. Talks go on.\nQuestion: How much gas could Russia supply to Iran per year?"
    )
    expected = "Russia could supply up to 55 billion cubic meters of gas to Iran a year. [1]"
    assert first_passage_reply(prompt) == expected


def test_fake_reply_skips_the_gap_a_focused_passage_opens_with() -> None:
    prompt = ("[1] Gas deal (bbc.com, 2025-01-17)\n... A pipeline to Iran is planned. Russia "
              "could supply 55 billion. ...\n\nQuestion: How much gas?")
    assert first_passage_reply(prompt) == "A pipeline to Iran is planned. [1]"


def test_fake_llm_answers_from_the_passages_not_the_system_example() -> None:
    llm = load_llm(Settings(llm_backend="fake", llm_context=1024, llm_max_tokens=32))
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Cite passages like [1]. Be brief."), ("human", "{body}")]
    ).invoke(
        {
            "body": "[1] Gas deal (reuters.com, 2025-03-01)\nThe deal was signed on Monday. "
            "It runs ten years.\n\n[2] Other story\nUnrelated.\n\nQuestion: When?"
        }
    )

    assert isinstance(llm, ScriptedLLM) and isinstance(llm, FakeLLM)
    assert llm.invoke(prompt) == "The deal was signed on Monday. [1]"
    assert "".join(llm.stream(prompt)) == "The deal was signed on Monday. [1]"
    assert (llm.context_size, llm.max_tokens) == (1024, 32)
    assert llm.count_tokens("x" * 30) == 10


def test_fake_reply_without_passages() -> None:
    assert first_passage_reply("human: What happened?") == NO_ANSWER


# ---------------------------------------------------------------- load_llm


def test_load_llm_http_backends(tmp_path: Path) -> None:
    ollama = load_llm(Settings(data_dir=tmp_path, llm_backend="ollama", llm_model="m"))
    assert isinstance(ollama, OllamaLLM)
    assert ollama.url == "http://127.0.0.1:11434"

    settings = Settings(
        data_dir=tmp_path,
        llm_backend="openai",
        llm_url="http://host:8000/v1/",
        llm_api_key="k",
        llm_context=2048,
        llm_max_tokens=99,
    )
    openai = load_llm(settings)
    assert isinstance(openai, OpenAICompatibleLLM)
    assert (openai.url, openai.api_key, openai.context_size) == ("http://host:8000/v1", "k", 2048)
    assert openai.max_tokens == 99 and openai.count_tokens("abcdefg") == 3

    with pytest.raises(ConfigError, match="ASSISTANT_LLM_URL"):
        load_llm(Settings(data_dir=tmp_path, llm_backend="openai", llm_url=None))


def test_load_llm_gguf_checks_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Path] = []
    monkeypatch.setattr(llm_module, "open_gguf", lambda path, settings: opened.append(path))

    with pytest.raises(ConfigError, match="ASSISTANT_LLM_PATH"):
        load_llm(Settings(data_dir=tmp_path, llm_backend="gguf", llm_path=None))
    with pytest.raises(ModelError, match="no GGUF model file"):
        load_llm(Settings(data_dir=tmp_path, llm_backend="gguf", llm_path=tmp_path / "no.gguf"))
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"<html>404</html>")
    with pytest.raises(ModelError, match="not a GGUF"):
        load_llm(Settings(data_dir=tmp_path, llm_backend="gguf", llm_path=not_gguf))
    assert opened == []

    good = tmp_path / "good.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00")
    load_llm(Settings(data_dir=tmp_path, llm_backend="gguf", llm_path=good))
    assert opened == [good]


def test_load_llm_local_resolves_the_packaged_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant import model_files

    resolved: list[tuple[str, Path]] = []

    def fake_resolve(name: str, models_dir: Path) -> Path:
        resolved.append((name, models_dir))
        return models_dir / f"{name}.gguf"

    monkeypatch.setattr(model_files, "resolve_model_file", fake_resolve)
    monkeypatch.setattr(llm_module, "open_gguf", lambda path, settings: ("opened", path))

    result = load_llm(Settings(data_dir=tmp_path, models_dir=tmp_path / "models", llm_backend="local", llm_model="smollm2"))
    assert resolved == [("smollm2", tmp_path / "models")]
    assert result == ("opened", tmp_path / "models" / "smollm2.gguf")


def test_load_llm_local_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="qwen2.5-0.5b"):
        load_llm(Settings(data_dir=tmp_path, llm_backend="local", llm_model="gpt-9"))


def test_bounded_llm_lets_one_reply_at_a_time_and_keeps_the_model_interface():
    import threading

    from assistant.llm import BoundedLLM
    from assistant.testing import ScriptedLLM

    inner = ScriptedLLM(["one two three"])
    inner.context_size = 999
    bounded = BoundedLLM(inner, 1)
    assert bounded.context_size == 999
    first = bounded.stream("q1")
    assert next(first) == "one "  # holds the only slot until the stream ends
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (bounded.invoke("q2"), finished.set()))
    worker.start()
    assert not finished.wait(0.3)  # the second caller waits for the slot
    assert "".join(first) == "two three"
    assert finished.wait(5)
    worker.join()
