"""The one exception tree of the assistant.

Every error the package raises on purpose is an :class:`AssistantError`, and its message
says what to do about it. The CLI turns these into exit codes; nothing else does.

    AssistantError
    ├── ConfigError            a setting is invalid or contradicts another
    ├── ArticleError           one article file cannot be read or parsed (ingest skips it)
    ├── IndexError_            the index is missing, unreadable or cannot be written
    │   ├── EmptyIndexError    nothing has been ingested yet
    │   ├── IndexUnavailableError  the Chroma server does not answer (retry when it is back)
    │   └── IndexBusyError     another process writes the embedded index, or has it open
    ├── ModelError             a model file is missing, truncated or fails its checksum
    ├── LLMError               the language model failed while answering
    │   ├── LLMUnavailableError  the LLM server cannot be reached
    │   └── ContextOverflowError the prompt cannot fit the model's context
    └── QuestionError          the question is empty or too long
"""

from __future__ import annotations

__all__ = [
    "AssistantError",
    "ConfigError",
    "ArticleError",
    "IndexError_",
    "EmptyIndexError",
    "IndexUnavailableError",
    "IndexBusyError",
    "ModelError",
    "LLMError",
    "LLMUnavailableError",
    "ContextOverflowError",
    "QuestionError",
]


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""

    exit_code = 1


class ConfigError(AssistantError):
    exit_code = 2


class ArticleError(AssistantError):
    """One article file could not be turned into an Article; ``path`` names it."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class IndexError_(AssistantError):  # noqa: N801 - the builtin IndexError means something else
    exit_code = 3


class EmptyIndexError(IndexError_):
    exit_code = 3


class IndexUnavailableError(IndexError_):
    """The Chroma server did not answer; the same call works once it is back."""


class IndexBusyError(IndexError_):
    """Another process holds the embedded index in a way this call cannot share: it is
    writing (so nobody else may open it), or it has it open (so nobody else may write)."""


class ModelError(AssistantError):
    exit_code = 4


class LLMError(AssistantError):
    exit_code = 5


class LLMUnavailableError(LLMError):
    pass


class ContextOverflowError(LLMError):
    pass


class QuestionError(AssistantError):
    exit_code = 2
