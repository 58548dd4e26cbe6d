"""A news Q&A assistant: answers questions about a collection of news articles, with citations.

    >>> from assistant import answer
    >>> reply = answer("How much gas could Russia supply to Iran per year?")
    >>> print(reply.text, [c.url for c in reply.citations])

``answer()`` and ``stream_answer()`` use a default :class:`Assistant` built from the
environment (``ASSISTANT_*`` settings) on first use; build your own ``Assistant(settings)``
to use other settings or components.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import lru_cache

from assistant.errors import (
    ArticleError,
    AssistantError,
    ConfigError,
    ContextOverflowError,
    EmptyIndexError,
    IndexBusyError,
    IndexError_,
    IndexUnavailableError,
    LLMError,
    LLMUnavailableError,
    ModelError,
    QuestionError,
)
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Answer, Article, Chunk, Citation, DateWindow, Filters, Passage

__all__ = [
    "answer",
    "stream_answer",
    "default_assistant",
    "Assistant",
    "Settings",
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "DateWindow",
    "Filters",
    "Passage",
    "AssistantError",
    "ConfigError",
    "ArticleError",
    "IndexError_",
    "EmptyIndexError",
    "IndexBusyError",
    "IndexUnavailableError",
    "ModelError",
    "LLMError",
    "LLMUnavailableError",
    "ContextOverflowError",
    "QuestionError",
]


@lru_cache(maxsize=1)
def default_assistant() -> Assistant:
    """The assistant that ``answer()`` uses: built from the environment once."""
    return Assistant(Settings())


def answer(
    question: str,
    *,
    as_of: dt.date | None = None,
    filters: Filters | None = None,
    history: Sequence[tuple[str, str]] | None = None,
) -> Answer:
    """Answer ``question`` from the indexed articles, citing them.

    ``as_of`` is the assistant's "today" (default: the real today); ``filters`` restricts
    the dates and outlets searched; ``history`` holds earlier (question, answer) turns so a
    follow-up can be understood.
    """
    return default_assistant().answer(question, as_of=as_of, filters=filters, history=history)


def stream_answer(
    question: str,
    *,
    as_of: dt.date | None = None,
    filters: Filters | None = None,
    history: Sequence[tuple[str, str]] | None = None,
) -> Iterator[str | Answer]:
    """Like :func:`answer`, but yields the text as it is generated, then the ``Answer``."""
    return default_assistant().stream_answer(
        question, as_of=as_of, filters=filters, history=history
    )
