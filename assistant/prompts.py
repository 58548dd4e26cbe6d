"""Prompt templates, read from the ``prompts/`` folder, and the rendering of passages.

Passage text is untrusted: it is put inside the ``<passages>`` data section with anything
that could pass for our markup neutralised (closing tags of the section, citation markers
like ``[2]`` that an article could use to fake a source).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from assistant.settings import PROMPTS_DIR
from assistant.types import Passage

__all__ = ["load_template", "answer_prompt", "reading_prompt", "condense_prompt",
           "fill_prompt", "render_passages", "neutralise", "TEMPLATE_NAMES"]

TEMPLATE_NAMES = ("answer_system", "answer_user", "read_system", "read_user", "condense", "passage")
_SECTION_TAG = re.compile(r"</?\s*passages\s*>", re.IGNORECASE)
_FAKE_CITATION = re.compile(r"\[(\d{1,3})\]")


@lru_cache(maxsize=None)
def load_template(name: str, folder: Path = PROMPTS_DIR) -> PromptTemplate:
    path = folder / f"{name}.md"
    return PromptTemplate.from_template(path.read_text(encoding="utf-8").strip() + "\n")


def _system_and_user(stem: str, folder: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """The chat prompt of ``{folder}/{stem}_system.md`` and ``{folder}/{stem}_user.md``."""
    return ChatPromptTemplate.from_messages([
        ("system", load_template(f"{stem}_system", folder).template),
        ("human", load_template(f"{stem}_user", folder).template),
    ])


def answer_prompt() -> ChatPromptTemplate:
    return _system_and_user("answer")


def reading_prompt(folder: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """One passage read alone (``reading="each"``): the answer's words, not a sentence.
    ``folder``: another set of prompt files, to study a change without editing these."""
    return _system_and_user("read", folder)


def condense_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages([("human", load_template("condense").template)])


def fill_prompt(template: ChatPromptTemplate, *, today: dt.date, question: str,
                passages: list[Passage], best_last: bool = False):
    """``template`` (answer or reading) filled in: its variables are these three."""
    return template.invoke({
        "today": today.isoformat(),
        "passages": render_passages(passages, best_last=best_last),
        "question": question,
    })


def neutralise(text: str) -> str:
    """Article text as inert data: no section tags, no citation-looking markers."""
    text = _SECTION_TAG.sub(" ", text)
    return _FAKE_CITATION.sub(r"(\1)", text)


def render_passages(passages: list[Passage], *, best_last: bool = False) -> str:
    """The passages numbered [1], [2], ... in rank order; ``best_last`` lists [1] last.

    A small model leans on what it read last, right before the question: with the best
    passage there it answers from it more often (BENCHMARKS.md, "order and checks").
    """
    template = load_template("passage")
    rendered = [
        template.format(
            n=i,
            title=neutralise(p.title),
            outlet=p.outlet or "unknown outlet",
            published=p.published.isoformat() if p.published else "undated",
            text=neutralise(p.text.strip()),
        )
        for i, p in enumerate(passages, start=1)
    ]
    return "\n".join(reversed(rendered) if best_last else rendered)
