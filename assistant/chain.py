"""The answering chain: condense -> retrieve -> prompt -> LLM -> citations.

``AnswerChain.runnable`` is the whole chain as one LangChain runnable (question dict in,
``Answer`` out). ``stream()`` runs the same steps but yields the LLM's text as it comes,
timing the first token, and ends with the ``Answer``. The reply is then checked against
the passages (``assistant.checks``). With ``reading="each"`` the model reads each passage
in a prompt of its own and the answer is chosen among its replies (``assistant.reading``):
it comes whole, once chosen.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from assistant.checks import (
    CITATION,
    REFUSAL,
    Reviewed,
    added_words,
    attribute,
    coverage,
    is_refusal,
    parse_citations,
    review,
    stale,
)
from assistant.errors import ContextOverflowError, QuestionError
from assistant.evidence import focus_passages
from assistant.prompts import answer_prompt, condense_prompt, fill_prompt, reading_prompt
from assistant.reading import (
    Reading,
    ReadingRule,
    choose,
    read_in_turn,
    reading_order,
    worth_reading,
)
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.types import Answer, Filters, Passage

__all__ = [
    "AnswerChain", "parse_citations", "attribute", "added_words", "coverage", "is_refusal",
    "review", "stale", "Reviewed", "REFUSAL",
]

_TEMPLATE_MARGIN = 32


def _history_text(history: Sequence[tuple[str, str]]) -> str:
    turns = []
    for question, reply in history[-3:]:  # the last few turns carry what a follow-up needs
        turns.append(f"User: {question}\nAssistant: {CITATION.sub('', reply).strip()}")
    return "\n".join(turns)


class AnswerChain:
    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.rule = ReadingRule.from_settings(self.settings)
        self.retriever = HybridRetriever.from_settings(
            assistant.store, assistant.embeddings, self.settings
        )
        self.prepare = (
            RunnablePassthrough.assign(standalone=RunnableLambda(self._condense))
            | RunnablePassthrough.assign(retrieval=RunnableLambda(self._retrieve))
            | RunnablePassthrough.assign(reference=RunnableLambda(self._reference))
            | RunnablePassthrough.assign(prompt=RunnableLambda(self._prompt))
        )
        self.runnable = (
            RunnableLambda(lambda request: self._inputs(**request))
            | self.prepare
            | RunnablePassthrough.assign(reply=RunnableLambda(self._generate))
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
        if not prompt:  # nothing retrieved, or nothing worth reading: no need to ask the model
            state["first_token_s"] = time.perf_counter() - state["started"]
            state["reply"] = REFUSAL
            yield REFUSAL
            yield self._finish(state)
            return
        if isinstance(prompt, list):  # each passage read alone: the answer comes at the end
            state["reply"] = self._read_each(state)
            state["first_token_s"] = time.perf_counter() - state["started"]
            answer = self._finish(state)
            yield answer.text
            yield answer
            return
        pieces: list[str] = []
        for piece in self.assistant.llm.stream(prompt):
            if not pieces:
                state["first_token_s"] = time.perf_counter() - state["started"]
            pieces.append(piece)
            yield piece
        state["reply"] = "".join(pieces)
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
        """The prompt, and the passages it shows: as many as fit the model's context.

        With ``reading="each"``: one prompt per passage worth reading, as ``(n, prompt)``
        in the order they are read, and every passage retrieved (people see them all).
        """
        passages = list(state["retrieval"].passages)
        if not passages:
            return None, []
        if self.settings.reading == "each":
            return self._prompts_each(state, passages), passages
        while passages:
            prompt = self._render(state, passages)
            if self._fits(prompt):
                return prompt, passages
            passages = passages[:-1]  # the lowest-ranked passage goes first
        raise self._overflow()

    def _fits(self, prompt: Any) -> bool:
        llm = self.assistant.llm
        count = getattr(llm, "count_tokens", lambda text: len(text) // 3)
        return count(prompt.to_string()) <= self._budget()

    def _budget(self) -> int:
        # The chat template adds a few dozen tokens that count_tokens does not see.
        return (getattr(self.assistant.llm, "context_size", self.settings.llm_context)
                - self.settings.llm_max_tokens - _TEMPLATE_MARGIN)

    def _overflow(self) -> ContextOverflowError:
        return ContextOverflowError(
            f"the question and one passage do not fit the model's context of {self._budget()} "
            "tokens: shorten the question or set ASSISTANT_LLM_CONTEXT higher"
        )

    def _prompts_each(self, state: dict, passages: list[Passage]) -> list[tuple[int, Any]]:
        # Focused as in one prompt: a question word's weight comes from all the passages.
        texts = focus_passages([p.text for p in passages], state["standalone"],
                               self.settings.passage_words)
        template, prompts = reading_prompt(), []
        for i in reading_order(passages, state["reference"], self.rule.days):
            if not worth_reading(state["standalone"], passages[i],
                                 min_support=self.settings.min_support,
                                 window=self._checked_window(state)):
                continue
            prompt = self._prompt_for(template, state, [replace(passages[i], text=texts[i])])
            if not self._fits(prompt):
                raise self._overflow()
            prompts.append((i + 1, prompt))
        return prompts

    def _checked_window(self, state: dict):
        """The date window answers are checked against (``date_check``), or None."""
        return state["retrieval"].window if self.settings.date_check else None

    def _reference(self, state: dict) -> dt.date | None:
        """The day recency is measured from (``reading="each"`` only, else None): the end of
        the question's window, else today; or the newest article before it, so that a
        collection of last year's news is read as of its own last day, not found too old
        for every question."""
        if self.settings.reading != "each":
            return None
        window = state["retrieval"].window
        end = window.end if window is not None else None
        day = min(end, state["as_of"]) if end else state["as_of"]
        return self.assistant.store.latest_published(day) or day

    def _read_each(self, state: dict) -> list[Reading]:
        """The model's reply to each passage alone, until the rest could not change the answer."""
        prompts, passages = state["prompt"]
        prompt_of = dict(prompts)
        return read_in_turn([(n, passages[n - 1]) for n, _ in prompts],
                            lambda n: self.assistant.llm.invoke(prompt_of[n]), state["standalone"],
                            reference=state["reference"], rule=self.rule)

    def _render(self, state: dict, passages: list[Passage]):
        # The model reads the question's sentences of each passage; people see it whole.
        texts = focus_passages([p.text for p in passages], state["standalone"],
                               self.settings.passage_words)
        read = [replace(p, text=text) for p, text in zip(passages, texts)]
        return self._prompt_for(answer_prompt(), state, read, best_last=True)

    def _prompt_for(self, template, state: dict, read: list[Passage], *, best_last: bool = False):
        return fill_prompt(template, today=state["as_of"], question=state["standalone"],
                           passages=read, best_last=best_last)

    def _generate(self, state: dict) -> str | list[Reading]:
        prompt, _ = state["prompt"]
        if not prompt:
            return REFUSAL
        return self._read_each(state) if isinstance(prompt, list) else self.assistant.llm.invoke(prompt)

    def _finish(self, state: dict) -> Answer:
        retrieval: Retrieval = state["retrieval"]
        shown = state["prompt"][1]
        reply = state["reply"]
        if isinstance(reply, list):
            checked = choose(reply, state["standalone"], shown, reference=state["reference"],
                             rule=self.rule)
        else:
            checked = review(reply, state["standalone"], shown,
                             min_support=self.settings.min_support,
                             unsourced=self.settings.unsourced,
                             window=self._checked_window(state))
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
