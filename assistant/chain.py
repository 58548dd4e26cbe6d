"""The answering chain: condense -> retrieve -> prompt -> LLM -> citations.

``AnswerChain.runnable`` is the whole chain as one LangChain runnable (question dict in,
``Answer`` out). ``stream()`` runs the same steps but yields the LLM's text as it comes,
timing the first token, and ends with the ``Answer``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from assistant.errors import ContextOverflowError, QuestionError
from assistant.evidence import focus_passages
from assistant.prompts import answer_prompt, condense_prompt, render_passages
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.terms import content_terms, term_stems
from assistant.types import Answer, Citation, DateWindow, Filters, Passage

__all__ = [
    "AnswerChain", "parse_citations", "attribute", "added_words", "is_refusal", "review",
    "stale", "Reviewed", "REFUSAL",
]

REFUSAL = "The articles don't say."
_TEMPLATE_MARGIN = 32
# How long before a question's date window a source may be published and still count as
# from it: a story is often reported, or previewed, a few days before the week it is
# asked about. Set once, a week, not fitted to any evaluation set.
_WINDOW_SLACK = dt.timedelta(days=7)
_SOURCES = frozenset({"article", "articles", "passage", "passages", "source", "sources"})
# "The article states that ...", "according to the passages": talk about the sources, which
# claims nothing. Only after a source noun, so "the United States" keeps its "states".
_ABOUT_SOURCES = re.compile(
    r"\b(?:articles?|passages?|sources?)\s+(?:states?|stated|mentions?|mentioned|says?|said"
    r"|reports?|reported|notes?|noted)\b|\baccording to\b",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_REFUSAL = re.compile(
    r"articles? (?:do(?:es)?n[o'’]?t|do not|does not) (?:say|mention|contain|specify|state)"
    r"|(?:passages?|articles?|context) (?:do(?:es)?n[o'’]?t|do not|does not) (?:provide|contain|include|say|mention)"
    r"|no (?:information|mention)|not (?:mentioned|provided|specified|stated) in"
    r"|cannot (?:find|determine|answer)|can't (?:find|determine|answer)|unable to (?:find|determine|answer)",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """True when an answer says the articles do not contain the answer."""
    return bool(_REFUSAL.search(text))


def parse_citations(text: str, passages: Sequence[Passage]) -> tuple[str, tuple[Citation, ...]]:
    """Keep the [n] markers that point to a passage, drop the rest; list the cited ones."""
    cited: list[int] = []

    def keep_valid(match: re.Match) -> str:
        numbers = [int(n) for n in match.group(1).split(",")]
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        cited.extend(n for n in valid if n not in cited)
        return "".join(f"[{n}]" for n in valid)

    cleaned = _CITATION.sub(keep_valid, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    citations = tuple(
        Citation(
            n=n,
            title=passages[n - 1].title,
            url=passages[n - 1].url,
            outlet=passages[n - 1].outlet,
            published_date=passages[n - 1].published,
            passage=passages[n - 1].text,
            score=passages[n - 1].score,
            article_id=passages[n - 1].article_id,
        )
        for n in sorted(cited)
    )
    return cleaned, citations


def attribute(
    text: str, passages: Sequence[Passage], question: str = "", threshold: float = 0.6
) -> int | None:
    """The passage an uncited answer comes from: the one holding most of its words.

    Small models often answer right but forget the [n]; a claim that is checked against
    the passages and found there can still point to its article. Only the words the answer
    adds to the question are checked ("BP announced plans to cut 4,700 jobs in recent
    weeks" is about "BP"), unless it adds none. None when no passage holds at least
    ``threshold`` of them.
    """
    claim = " ".join(added_words(text, question) or content_terms(text))
    best, best_share = None, threshold
    for n, passage in enumerate(passages, start=1):
        share = coverage(claim, passage)
        if share >= best_share and (best is None or share > best_share):
            best, best_share = n, share
    return best


def added_words(answer: str, question: str) -> list[str]:
    """The content words of an answer that the question does not already hold.

    Words about the sources themselves ("the article states") claim nothing.
    """
    asked = set(content_terms(question)) | _SOURCES
    claim = _ABOUT_SOURCES.sub(" ", _CITATION.sub(" ", answer))
    return [w for w in content_terms(claim) if w not in asked]


def coverage(text: str, passage: Passage) -> float:
    """Share of the content words of ``text`` in the passage as the model read it.

    Words match by their first letters (``term_stems``): a passage about an "eruption"
    is about a question's "erupting" volcano.
    """
    words = term_stems(text)
    if not words:
        return 0.0
    # The header too (title, outlet, date): a small model sometimes answers by quoting it.
    published = passage.published.isoformat() if passage.published else ""
    seen = term_stems(f"{passage.title} {passage.outlet} {published} {passage.text}")
    return len(words & seen) / len(words)


def support(question: str, citations: Sequence[Citation], passages: Sequence[Passage]) -> float:
    """How much of the question the cited passages are about (0..1).

    An answer whose sources share few of the question's words answers something else: a
    small model, shown passages near the topic but without the answer, tends to do that.
    """
    return max((coverage(question, passages[c.n - 1]) for c in citations), default=0.0)


class Reviewed(NamedTuple):
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    attributed: bool
    support: float


def stale(citations: Sequence[Citation], window: DateWindow | None) -> bool:
    """True when every cited source is dated well before the question's date window.

    "Which company topped $5 trillion this week?" answered from a July article ("Nvidia,
    the first $4 trillion company") is not an answer from this week's articles, even when
    the name happens to be right. A source without a date is given the benefit of the doubt.
    """
    if window is None or window.start is None or not citations:
        return False
    earliest = window.start - _WINDOW_SLACK
    return all(c.published_date is not None and c.published_date < earliest for c in citations)


def review(
    reply: str, question: str, shown: Sequence[Passage], *, min_support: float, unsourced: str,
    window: DateWindow | None = None,
) -> Reviewed:
    """The model's reply checked against the passages it was shown, as people will see it.

    Citations pointing nowhere are dropped; an uncited answer is traced to the passage that
    holds it; an answer that adds nothing to the question, whose sources are about
    something else (``min_support``) or all older than the question's date ``window``
    (:func:`stale`), or (with ``unsourced="refuse"``) that no passage holds, becomes "the
    articles don't say".
    """
    text, citations = parse_citations(reply, shown)
    refused = is_refusal(text) or not text
    if not refused and not added_words(text, question):
        # "[3]" alone, or the question said back as a sentence: nothing was answered.
        return Reviewed(REFUSAL, (), True, False, 0.0)
    attributed = False
    if not citations and not refused:
        n = attribute(text, shown, question)
        if n is not None:
            marked = re.sub(r"([.!?]?)\s*$", lambda m: f" [{n}]{m.group(1)}", text, count=1)
            text, citations = parse_citations(marked, shown)
            attributed = True
    backing = support(question, citations, shown)
    if citations and not refused and (backing < min_support or stale(citations, window)):
        # The sources are about something else: say so rather than pass it off.
        text, citations, refused = REFUSAL, (), True
    if not citations and not refused and unsourced == "refuse":
        # Neither cited nor found in any passage: not an answer from the articles.
        text, refused = REFUSAL, True
    return Reviewed(text or REFUSAL, citations, refused, attributed, backing)


def _history_text(history: Sequence[tuple[str, str]]) -> str:
    turns = []
    for question, reply in history[-3:]:  # the last few turns carry what a follow-up needs
        turns.append(f"User: {question}\nAssistant: {_CITATION.sub('', reply).strip()}")
    return "\n".join(turns)


class AnswerChain:
    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.retriever = HybridRetriever.from_settings(
            assistant.store, assistant.embeddings, self.settings
        )
        self.prepare = (
            RunnablePassthrough.assign(standalone=RunnableLambda(self._condense))
            | RunnablePassthrough.assign(retrieval=RunnableLambda(self._retrieve))
            | RunnablePassthrough.assign(prompt=RunnableLambda(self._prompt))
        )
        self.runnable = (
            RunnableLambda(lambda request: self._inputs(**request))
            | self.prepare
            | RunnablePassthrough.assign(text=RunnableLambda(self._generate))
            | RunnableLambda(self._finish)
        )

    # -- public ---------------------------------------------------------------------------
    def answer(self, question: str, **kwargs: Any) -> Answer:
        result = None
        for piece in self.stream(question, **kwargs):
            if isinstance(piece, Answer):
                result = piece
        assert result is not None
        return result

    def stream(
        self,
        question: str,
        *,
        as_of: dt.date | None = None,
        filters: Filters | None = None,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> Iterator[str | Answer]:
        state = self._inputs(question, as_of, filters, history)
        state = self.prepare.invoke(state)
        prompt, _ = state["prompt"]
        if prompt is None:  # nothing retrieved: no need to ask the model
            state["first_token_s"] = time.perf_counter() - state["started"]
            state["text"] = REFUSAL
            yield REFUSAL
            yield self._finish(state)
            return
        pieces: list[str] = []
        for piece in self.assistant.llm.stream(prompt):
            if not pieces:
                state["first_token_s"] = time.perf_counter() - state["started"]
            pieces.append(piece)
            yield piece
        state["text"] = "".join(pieces)
        yield self._finish(state)

    # -- steps ------------------------------------------------------------------------------
    def _inputs(self, question, as_of=None, filters=None, history=None) -> dict:
        question = (question or "").strip()
        if not question:
            raise QuestionError("the question is empty: type a question about the news")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(
                f"the question is {len(question)} characters long; keep it under {limit} "
                "(ask about one thing at a time)"
            )
        self.assistant.store.require_content()
        return {
            "question": question,
            "as_of": as_of or dt.date.today(),
            "filters": filters or Filters(),
            "history": list(history or []),
            "started": time.perf_counter(),
        }

    def _condense(self, state: dict) -> str:
        if not state["history"]:
            return state["question"]
        prompt = condense_prompt().invoke(
            {"history": _history_text(state["history"]), "question": state["question"]}
        )
        rewritten = self.assistant.llm.invoke(prompt).strip().splitlines()
        candidate = rewritten[0].strip() if rewritten else ""
        # A small model sometimes answers instead of rewriting: keep the original words then.
        if not candidate or len(candidate) > 3 * len(state["question"]) + 200:
            last = state["history"][-1][0]
            return f"{last} {state['question']}"
        return candidate

    def _retrieve(self, state: dict) -> Retrieval:
        retrieval = self.retriever.retrieve(
            state["standalone"], k=self.settings.top_k, as_of=state["as_of"],
            filters=state["filters"],
        )
        return retrieval

    def _prompt(self, state: dict) -> tuple[Any, list[Passage]]:
        """The prompt, and the passages it shows: as many as fit the model's context."""
        passages = list(state["retrieval"].passages)
        if not passages:
            return None, []
        llm = self.assistant.llm
        # The chat template adds a few dozen tokens that count_tokens does not see.
        budget = (getattr(llm, "context_size", self.settings.llm_context)
                  - self.settings.llm_max_tokens - _TEMPLATE_MARGIN)
        count = getattr(llm, "count_tokens", lambda text: len(text) // 3)
        while passages:
            prompt = self._render(state, passages)
            if count(prompt.to_string()) <= budget:
                return prompt, passages
            passages = passages[:-1]  # the lowest-ranked passage goes first
        raise ContextOverflowError(
            f"the question and one passage do not fit the model's context of {budget} tokens: "
            "shorten the question or set ASSISTANT_LLM_CONTEXT higher"
        )

    def _render(self, state: dict, passages: list[Passage]):
        # The model reads the question's sentences of each passage; people see it whole.
        texts = focus_passages([p.text for p in passages], state["standalone"],
                               self.settings.passage_words)
        read = [replace(p, text=text) for p, text in zip(passages, texts)]
        return answer_prompt().invoke({
            "today": state["as_of"].isoformat(),
            "passages": render_passages(read, best_last=True),
            "question": state["standalone"],
        })

    def _generate(self, state: dict) -> str:
        prompt, _ = state["prompt"]
        return REFUSAL if prompt is None else self.assistant.llm.invoke(prompt)

    def _finish(self, state: dict) -> Answer:
        retrieval: Retrieval = state["retrieval"]
        shown = state["prompt"][1]
        checked = review(state["text"], state["standalone"], shown,
                         min_support=self.settings.min_support, unsourced=self.settings.unsourced,
                         window=retrieval.window if self.settings.date_check else None)
        text, citations, refused, attributed, backing = checked
        total = time.perf_counter() - state["started"]
        return Answer(
            text=text,
            citations=citations,
            passages=tuple(shown),
            date_window=retrieval.window,
            timings={
                "retrieval_s": retrieval.seconds,
                "first_token_s": state.get("first_token_s", total),
                "total_s": total,
            },
            grounded=bool(citations),
            attributed=attributed,
            refused=refused,
            support=backing,
            question=state["standalone"],
        )
