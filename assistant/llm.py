"""The language models behind the assistant, all with one small interface.

Every backend is a LangChain ``Runnable`` from a prompt (a ``PromptValue``, a list of
messages, or a plain ``str`` taken as one human message) to the answer text:
``invoke()`` returns the whole text, ``stream()`` yields it piece by piece as it is
generated. Each also tells the chain how much it may put in the prompt: ``context_size``
(tokens), ``max_tokens`` (the most the reply may take) and ``count_tokens(text)``.
Answers are deterministic (temperature 0).

``load_llm(settings)`` builds the backend that ``Settings.llm_backend`` names:

``local``   the packaged GGUF named by ``llm_model`` (see :mod:`assistant.model_files`)
``gguf``    any GGUF file at ``llm_path``
``ollama``  an Ollama server at ``llm_url`` (``/api/chat``, NDJSON stream)
``openai``  any OpenAI-compatible server at ``llm_url`` (``/chat/completions``, SSE)
``fake``    a :class:`~assistant.testing.ScriptedLLM` that quotes passage [1]

It loads a model every time it is called: the caller keeps the one it built.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig

from assistant.errors import (
    ConfigError,
    ContextOverflowError,
    LLMError,
    LLMUnavailableError,
    ModelError,
)
from assistant.settings import Settings
from assistant.testing import ScriptedLLM

__all__ = [
    "ChatModel",
    "ChatLLM",
    "BoundedLLM",
    "LlamaCppLLM",
    "OllamaLLM",
    "OpenAICompatibleLLM",
    "FakeLLM",
    "DEFAULT_OLLAMA_URL",
    "NO_ANSWER",
    "load_llm",
    "open_gguf",
    "check_gguf",
    "to_chat_messages",
    "estimate_tokens",
    "first_passage_reply",
]

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
NO_ANSWER = "I could not find this in the articles."
GGUF_MAGIC = b"GGUF"
# A slow first byte means a busy server, not a dead one; a slow connect means a dead one.
_CONNECT_TIMEOUT_S = 10.0

LLMInput = PromptValue | str | Sequence[BaseMessage]
Message = dict[str, str]


@runtime_checkable
class ChatModel(Protocol):
    """What the chain needs from a language model, whichever backend it is."""

    context_size: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> str: ...

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str]: ...


# ---------------------------------------------------------------- prompt -> chat messages

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    # Multi-part content: only the text parts mean anything to these models.
    parts = [p if isinstance(p, str) else p.get("text", "") for p in content]
    return "".join(parts)


def to_chat_messages(prompt: LLMInput) -> list[Message]:
    """The OpenAI-style ``[{"role", "content"}]`` list for a prompt value, messages or str."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    messages = prompt.to_messages() if isinstance(prompt, PromptValue) else list(prompt)
    out: list[Message] = []
    for message in messages:
        if not isinstance(message, BaseMessage):
            raise TypeError(f"expected a PromptValue, str or messages, got {type(message)!r}")
        role = getattr(message, "role", None) or _ROLES.get(message.type, "user")
        out.append({"role": role, "content": _content_text(message.content)})
    return out


def estimate_tokens(text: str) -> int:
    """About three characters a token: an estimate that errs towards too many tokens.

    Servers keep their tokenizer to themselves, so the HTTP backends bound prompts with
    this; BPE tokenizers average closer to four characters a token on English news.
    """
    return math.ceil(len(text) / 3)


# ---------------------------------------------------------------- the common runnable


class ChatLLM(Runnable[LLMInput, str]):
    """A chat model as a runnable; subclasses only say how to stream one reply."""

    def __init__(self, *, context_size: int, max_tokens: int) -> None:
        self.context_size = context_size
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def _stream_messages(self, messages: list[Message]) -> Iterator[str]:
        raise NotImplementedError

    def invoke(self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any) -> str:
        return "".join(self.stream(input, config, **kwargs))

    def stream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str]:
        for piece in self._stream_messages(to_chat_messages(input)):
            if piece:
                yield piece


class BoundedLLM(Runnable[LLMInput, str]):
    """At most ``limit`` replies at a time from ``llm``; callers beyond wait their turn.

    The app lets many questions retrieve at once and queues only here, at the model.
    """

    def __init__(self, llm: Any, limit: int) -> None:
        self.llm = llm
        self._slots = threading.BoundedSemaphore(limit)

    def __getattr__(self, name: str) -> Any:  # context_size, count_tokens, max_tokens ...
        return getattr(self.llm, name)

    def invoke(self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any) -> str:
        return "".join(self.stream(input, config, **kwargs))

    def stream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str]:
        with self._slots:
            yield from self.llm.stream(input, config, **kwargs)


# ---------------------------------------------------------------- llama.cpp (local, gguf)

_CONTEXT_WORDS = re.compile(
    r"context (length|window|size)|maximum context|exceeds? the (available )?context",
    re.IGNORECASE,
)


class LlamaCppLLM(ChatLLM):
    """A ``llama_cpp.Llama`` in-process; token counts come from its own tokenizer.

    One ``Llama`` holds one KV cache, so one reply at a time: a lock is held from the
    first token to the last (or until the caller drops the stream).
    """

    def __init__(self, llama: Any, *, max_tokens: int, name: str = "") -> None:
        super().__init__(context_size=int(llama.n_ctx()), max_tokens=max_tokens)
        self.llama = llama
        self.name = name
        self._lock = threading.Lock()

    def close(self) -> None:
        """Free the model's memory now rather than when the object is collected."""
        with self._lock:
            self.llama.close()

    def count_tokens(self, text: str) -> int:
        # Tokenizing reads only the vocabulary, not the KV cache, so it needs no lock and
        # the chain can size a prompt while another reply is being generated.
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _stream_messages(self, messages: list[Message]) -> Iterator[str]:
        with self._lock:
            try:
                chunks = self.llama.create_chat_completion(
                    messages=messages, stream=True, temperature=0.0, max_tokens=self.max_tokens
                )
                for chunk in chunks:
                    yield chunk["choices"][0]["delta"].get("content") or ""
            except ValueError as exc:
                if _CONTEXT_WORDS.search(str(exc)):
                    raise ContextOverflowError(
                        f"the prompt does not fit the model's context of {self.context_size} "
                        f"tokens ({exc}): raise ASSISTANT_LLM_CONTEXT or ask about fewer "
                        "passages (ASSISTANT_TOP_K)"
                    ) from exc
                raise LLMError(f"the local model failed: {exc}") from exc


def check_gguf(path: Path | None) -> Path:
    """``path`` if it is a readable GGUF file, else a ModelError saying what to set."""
    if path is None:
        raise ConfigError("ASSISTANT_LLM_BACKEND=gguf needs ASSISTANT_LLM_PATH=/path/to/model.gguf")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"no GGUF model file at {path}: check ASSISTANT_LLM_PATH")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not {GGUF_MAGIC!r}): "
            "point ASSISTANT_LLM_PATH at a .gguf file"
        )
    return path


def open_gguf(path: Path, settings: Settings) -> LlamaCppLLM:
    """Load a GGUF file with llama.cpp, sized by the settings."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError(
            "the local LLM needs llama-cpp-python: pip install 'llama-cpp-python==0.3.36'"
        ) from exc
    try:
        llama = Llama(
            model_path=str(path),
            n_ctx=settings.llm_context,
            n_threads=settings.llm_threads or os.cpu_count(),
            flash_attn=settings.llm_flash_attn,
            verbose=False,
        )
    except ValueError as exc:  # llama.cpp reports a file it cannot load as a ValueError
        raise ModelError(f"llama.cpp cannot load {path}: {exc}; is it a complete GGUF?") from exc
    return LlamaCppLLM(llama, max_tokens=settings.llm_max_tokens, name=path.stem)


# ---------------------------------------------------------------- HTTP backends


def _server_message(body: bytes) -> tuple[str, str]:
    """(message, code) from an error body: OpenAI, vLLM, llama.cpp and Ollama shapes."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500], ""
    return _error_fields(data) or (text[:500], "")


def _error_fields(data: Any) -> tuple[str, str] | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error", data if "message" in data else None)
    if isinstance(error, str):
        return error, ""
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("detail") or error)
        code = " ".join(str(error.get(k) or "") for k in ("code", "type")).strip()
        return message, code
    if "detail" in data:
        return str(data["detail"]), ""
    return None


def _is_context_error(message: str, code: str) -> bool:
    return "context" in code.lower() or bool(_CONTEXT_WORDS.search(message))


class _EndedEarly(Exception):
    """The stream ended without the server saying it was done."""


class _HTTPChatLLM(ChatLLM):
    """Streams a reply from a chat server over HTTP with httpx."""

    server = "the LLM server"
    hint = "set ASSISTANT_LLM_URL"

    def __init__(
        self,
        url: str,
        model: str,
        *,
        context_size: int,
        max_tokens: int,
        timeout_s: float = 120.0,
        api_key: str | None = None,
    ) -> None:
        super().__init__(context_size=context_size, max_tokens=max_tokens)
        self.url = url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.api_key = api_key

    def _endpoint(self) -> str:
        raise NotImplementedError

    def _body(self, messages: list[Message]) -> dict[str, Any]:
        raise NotImplementedError

    def _pieces(self, lines: Iterable[str]) -> Iterator[str]:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _fail(self, message: str, code: str = "", status: int | None = None) -> LLMError:
        where = f"{self.server} at {self.url}"
        if _is_context_error(message, code):
            return ContextOverflowError(
                f"{where} says the prompt is too long: {message}; use a model with a larger "
                "context, or lower ASSISTANT_LLM_CONTEXT / ASSISTANT_TOP_K to send less"
            )
        status_text = f" (HTTP {status})" if status else ""
        return LLMError(f"{where} failed{status_text}: {message}{self._status_hint(status)}")

    def _status_hint(self, status: int | None) -> str:
        if status in (401, 403):
            return "; check ASSISTANT_LLM_API_KEY"
        if status == 404:
            return f"; check ASSISTANT_LLM_URL and that model {self.model!r} exists there"
        return ""

    def _unavailable(self, exc: Exception) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"cannot reach {self.server} at {self.url} ({type(exc).__name__}: {exc}): "
            f"{self.hint}"
        )

    def _broke_off(self, detail: str = "") -> LLMError:
        return LLMError(
            f"{self.server} at {self.url} broke off the reply{detail}; its log tells why"
        )

    def _json(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._broke_off(f" (it sent {text[:200]!r}, not a JSON object)")
        return data

    @contextmanager
    def _response(self, body: dict[str, Any]) -> Iterator[Any]:
        import httpx

        timeout = httpx.Timeout(self.timeout_s, connect=min(_CONNECT_TIMEOUT_S, self.timeout_s))
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream(
                    "POST", self._endpoint(), json=body, headers=self._headers()
                ) as response,
            ):
                if response.status_code >= 400:
                    message, code = _server_message(response.read())
                    raise self._fail(message, code, response.status_code)
                yield response
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            raise self._unavailable(exc) from exc
        except httpx.HTTPError as exc:
            raise self._broke_off(f" ({type(exc).__name__}: {exc})") from exc

    def _stream_messages(self, messages: list[Message]) -> Iterator[str]:
        produced = False
        try:
            with self._response(self._body(messages)) as response:
                for piece in self._pieces(response.iter_lines()):
                    produced = produced or bool(piece)
                    yield piece
        except _EndedEarly:
            if produced:
                raise self._broke_off() from None
            yield from self._after_silent_failure(messages)

    def _after_silent_failure(self, messages: list[Message]) -> Iterator[str]:
        """What to do when the stream ended before it began: by default, fail."""
        raise self._broke_off(" before it began")


class OllamaLLM(_HTTPChatLLM):
    """An Ollama server: ``POST /api/chat`` streaming newline-delimited JSON.

    ``count_tokens`` is an estimate (see :func:`estimate_tokens`); ``context_size`` is
    what the settings say and is sent to Ollama as ``num_ctx``.
    """

    server = "the Ollama server"
    hint = "start it with `ollama serve` or set ASSISTANT_LLM_URL"

    def _endpoint(self) -> str:
        return f"{self.url}/api/chat"

    def _body(self, messages: list[Message]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "options": {
                "temperature": 0,
                "num_predict": self.max_tokens,
                "num_ctx": self.context_size,
            },
        }

    def _status_hint(self, status: int | None) -> str:
        if status == 404:
            return f"; run `ollama pull {self.model}` or set ASSISTANT_LLM_MODEL"
        return super()._status_hint(status)

    def _pieces(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            if not line.strip():
                continue
            data = self._json(line)
            if "error" in data:
                raise self._fail(str(data["error"]))
            yield (data.get("message") or {}).get("content") or ""
            if data.get("done"):
                return
        raise _EndedEarly


def _sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each server-sent event (data lines joined, comments skipped)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


class OpenAICompatibleLLM(_HTTPChatLLM):
    """Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's): ``POST /chat/completions``.

    ``url`` is the base URL ending in ``/v1``. ``count_tokens`` is an estimate (see
    :func:`estimate_tokens`); ``context_size`` is what the settings say, since the API
    does not tell it.
    """

    server = "the OpenAI-compatible server"
    hint = "start the server, or set ASSISTANT_LLM_URL to its base URL ending in /v1"

    def _endpoint(self) -> str:
        return f"{self.url}/chat/completions"

    def _body(self, messages: list[Message]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def _pieces(self, lines: Iterable[str]) -> Iterator[str]:
        finished = False
        for data in _sse_data(lines):
            if data.strip() == "[DONE]":
                return
            event = self._json(data)
            error = _error_fields(event) if "error" in event else None
            if error is not None:
                raise self._fail(*error)
            for choice in event.get("choices") or ():
                finished = finished or choice.get("finish_reason") is not None
                yield (choice.get("delta") or {}).get("content") or ""
        if not finished:  # some servers skip [DONE], but every one ends with a finish_reason
            raise _EndedEarly

    def _after_silent_failure(self, messages: list[Message]) -> Iterator[str]:
        # llama-cpp-python's server closes the stream without a word when the prompt fails
        # (too long for the context, say); asked again without streaming, it says why.
        with self._response(self._body(messages) | {"stream": False}) as response:
            data = self._json(response.read().decode("utf-8", "replace"))
        for choice in (data.get("choices") or ())[:1]:
            yield (choice.get("message") or {}).get("content") or ""


# ---------------------------------------------------------------- fake

_MARKER_AT_LINE_START = re.compile(
    r"^[ \t>*-]*(?:passage[ \t]*)?\[1\]", re.IGNORECASE | re.MULTILINE
)
_MARKER = re.compile(r"\[1\]")
_NEXT_PASSAGE = re.compile(r"\n\s*\n|(?:passage[ \t]*)?\[2\]", re.IGNORECASE)
_SENTENCE = re.compile(r".+?[.!?](?=[\"')\]]*(?:\s|$))", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
_LEADING_GAP = re.compile(r"^(?:\.\.\.|…)\s*")


def _passage_one(text: str) -> str | None:
    """The text of passage [1]: from its marker to a blank line or passage [2]."""
    match = _MARKER_AT_LINE_START.search(text) or _MARKER.search(text)
    if match is None:
        return None
    rest = text[match.end() :]
    end = _NEXT_PASSAGE.search(rest)
    return (rest[: end.start()] if end else rest).lstrip(" \t:.-–—")


def first_passage_reply(prompt: str) -> str:
    """A stand-in answer: the first sentence of passage [1], cited as ``[1]``.

    The passages are looked for in the human part of the prompt first, so a system
    prompt that shows the citation style ("cite like [1]") is not quoted. A first line
    without sentence punctuation (a title) is skipped when the passage goes on.
    """
    human_at = max(prompt.rfind("\nhuman: "), 0)
    passage = _passage_one(prompt[human_at:]) or _passage_one(prompt)
    if not passage or not passage.strip():
        return NO_ANSWER
    lines = [line.strip() for line in passage.strip().splitlines() if line.strip()]
    if len(lines) > 1 and not _SENTENCE_END.search(lines[0]):
        lines = lines[1:]
    # The model reads focused passages, which open with "..." where text was left out.
    body = _LEADING_GAP.sub("", " ".join(lines))
    sentence = _SENTENCE.match(body)
    return f"{(sentence.group(0) if sentence else body).strip()} [1]"


class FakeLLM(ScriptedLLM):
    """The scripted LLM with the sizes the chain asks every backend for."""

    def __init__(
        self,
        replies: Sequence[str | Callable[[str], str]] = (first_passage_reply,),
        *,
        context_size: int = 4096,
        max_tokens: int = 160,
    ) -> None:
        super().__init__(replies)
        self.context_size = context_size
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


# ---------------------------------------------------------------- choosing one


def load_llm(settings: Settings) -> Runnable[Any, str]:
    """Build the LLM that ``settings.llm_backend`` names (loading a model file if local).

    Every call builds a new one: keep it, keyed by the settings, in the caller.
    """
    backend = settings.llm_backend
    if backend == "fake":
        return FakeLLM(context_size=settings.llm_context, max_tokens=settings.llm_max_tokens)
    if backend == "local":
        from assistant.model_files import resolve_model_file

        path = resolve_model_file(settings.llm_model, settings.models_dir)
        return open_gguf(path, settings)
    if backend == "gguf":
        return open_gguf(check_gguf(settings.llm_path), settings)
    http_args: dict[str, Any] = {
        "context_size": settings.llm_context,
        "max_tokens": settings.llm_max_tokens,
        "timeout_s": settings.llm_timeout_s,
        "api_key": settings.llm_api_key,
    }
    if backend == "ollama":
        return OllamaLLM(settings.llm_url or DEFAULT_OLLAMA_URL, settings.llm_model, **http_args)
    if backend == "openai":
        if not settings.llm_url:
            raise ConfigError(
                "ASSISTANT_LLM_BACKEND=openai needs ASSISTANT_LLM_URL, the server's base URL "
                "ending in /v1 (e.g. http://127.0.0.1:8000/v1)"
            )
        return OpenAICompatibleLLM(settings.llm_url, settings.llm_model, **http_args)
    raise ConfigError(f"unknown ASSISTANT_LLM_BACKEND {backend!r}")
