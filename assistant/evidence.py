"""What the model reads of each passage: the sentences that bear on the question.

A 0.5B model on two cores reads roughly 120 prompt tokens a second, so five whole passages
(about 1,100 tokens) keep people waiting ~10 s for the first word. Most of a passage is
context the question does not need: the answer sits in, or right after, the sentences
that share the question's words. So the prompt shows those sentences (with the next one,
and "..." where text was left out) within a word budget per passage, while the passage
people see and the citations point to stays whole.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from assistant.terms import term_stems
from index.chunking import split_segments

__all__ = ["focus_passages"]

_WORD = re.compile(r"\S+")
_HAS_WORD = re.compile(r"\w")  # a "..." between joined chunks is not a sentence to show
_GAP = "..."


def focus_passages(texts: Sequence[str], question: str, budget_words: int) -> list[str]:
    """Each text cut to its sentences most about ``question``, within ``budget_words``.

    A question word found in few of the passages' sentences (a name, a number, "gas")
    counts for more than one found in most of them (the story's subject), as in BM25.
    Texts within budget, or every text when the budget is 0, come back unchanged.
    """
    if budget_words <= 0:
        return list(texts)
    asked = term_stems(question)
    split = [
        [(a, b, term_stems(text[a:b]) & asked)
         for a, b in split_segments(text) if _HAS_WORD.search(text[a:b])]
        for text in texts
    ]
    df = Counter(stem for sentences in split for *_, found in sentences for stem in found)
    total = sum(len(sentences) for sentences in split) or 1
    weight = {stem: math.log(1 + total / n) for stem, n in df.items()}
    return [
        _focus(text, sentences, weight, budget_words) for text, sentences in zip(texts, split)
    ]


def _focus(text: str, sentences: list, weight: dict[str, float], budget_words: int) -> str:
    sizes = [len(_WORD.findall(text[a:b])) for a, b, _ in sentences]
    if sum(sizes) <= budget_words:
        return text
    scores = [sum(weight[s] for s in found) for *_, found in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    if scores[order[0]] == 0:
        order = list(range(len(sentences)))  # nothing matches: the lede is the best guess
    chosen: set[int] = set()
    used = 0
    for i in order:
        if used >= budget_words or (chosen and scores[i] == 0 < scores[order[0]]):
            break
        # The answer often follows the sentence that names the subject: keep the next one.
        for j in (i, i + 1):
            if j < len(sentences) and j not in chosen and (not chosen or used + sizes[j] <= budget_words):
                chosen.add(j)
                used += sizes[j]
    return _join(text, sentences, sorted(chosen), budget_words)


def _join(text: str, sentences: list, kept: list[int], budget_words: int) -> str:
    pieces: list[str] = []
    end = 0
    for i in kept:
        start, stop = sentences[i][0], sentences[i][1]
        if text[end:start].strip():  # something was left out (or the text had a gap there)
            pieces.append(_GAP)
        pieces.append(text[start:stop])
        end = stop
    if text[end:].strip():
        pieces.append(_GAP)
    words = " ".join(pieces).split()
    # One sentence can be longer than the whole budget (a run-on, a table flattened into a
    # line): keep its start, which is where its subject is.
    if len(words) > 2 * budget_words:
        words = words[: 2 * budget_words] + [_GAP]
    return " ".join(words)
