"""Evaluation on a folder laid out like ``../shared/newsqa-2025``, scored as its README says.

- retrieval hit@k: one of the top-k passages contains the normalised gold answer
  (k = 1, 5, 10), and MRR@10 on the same rule;
- answer accuracy: the normalised gold answer occurs in the normalised answer text
  (citation markers removed); an answer of more than 60 words counts as wrong;
- refusal when absent: the question asked again with its ``answer_in`` articles left out
  of retrieval; the right outcome is "the articles don't say". False refusals are
  refusals in the normal run;
- each question is asked with its ``question_date`` as the assistant's "today".

Besides the README's figures, each is given for two groups (``by_coverage``): questions
whose story the collection reports (one of their ``answer_in`` articles published in the
``STORY_DAYS`` up to the question) and the rest, whose listed answer articles are all
older. ``answer_in`` lists the articles of the question's own search results that hold the
answer, not every article in the pool that does: the gold words stand in many more (in
the pool of newsqa-2025, 108,705 question-article pairs against 1,417 listed), mostly by
chance ("New York", "$3"). A weekly quiz asks about its week's news, so the second group
is mostly where the collection lacks the story and "the articles don't say" is honest,
though the README counts it a false refusal.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evidence import focus_passages
from assistant.retrieval import HybridRetriever
from assistant.types import Filters, Passage

__all__ = [
    "run_eval", "EvalResult", "normalise", "load_questions", "score_retrieval", "percentile",
]

# A quiz question asks about its week; two weeks allow for a story previewed or reported
# late. Set once from what the quizzes ask, not fitted to any figure.
STORY_DAYS = 14

# by_coverage's groups: the coverage flag of the questions each holds, and its table label.
_COVERAGE_GROUPS = {
    "story_in_collection": (True, (f"story in the collection (a listed answer article <= "
                                   f"{STORY_DAYS} days old)")),
    "older_articles_only": (False, "listed answer articles all older"),
}

_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def load_questions(folder: Path, limit: int | None = None) -> list[dict]:
    path = folder / "questions.jsonl"
    if not path.is_file() or not (folder / "articles").is_dir():
        raise ConfigError(
            f"{folder} is not an evaluation folder: it needs questions.jsonl and articles/ "
            "(like ../shared/newsqa-2025)"
        )
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit is not None and 0 < limit < len(questions):
        # An even spread over the year, not the first weeks only.
        step = len(questions) / limit
        questions = [questions[int(i * step)] for i in range(limit)]
    return questions


def score_retrieval(passages: list[Passage], gold: str) -> int | None:
    """1-based rank of the first passage containing the gold answer, or None."""
    target = normalise(gold)
    for rank, passage in enumerate(passages, start=1):
        if target in normalise(passage.text):
            return rank
    return None


def answer_correct(text: str, gold: str) -> bool:
    cleaned = normalise(_CITATION.sub(" ", text))
    return len(cleaned.split()) <= 60 and normalise(gold) in cleaned


@dataclass
class RetrievalScores:
    ranks: list[int | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def hit(self, k: int) -> float:
        return _share(r is not None and r <= k for r in self.ranks)

    def mrr(self, k: int = 10) -> float:
        return _mean(1.0 / r if r is not None and r <= k else 0.0 for r in self.ranks)

    def to_json(self) -> dict:
        return {"hit@1": self.hit(1), "hit@5": self.hit(5), "hit@10": self.hit(10),
                "mrr@10": self.mrr(10)}


@dataclass
class EvalResult:
    questions: int
    retrieval: dict[str, RetrievalScores]
    # The gold answer is in what the model reads of the top passages (assistant.evidence).
    in_prompt: list[bool] = field(default_factory=list)
    # The collection reports the question's story (see STORY_DAYS), one flag a question.
    covered: list[bool] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    refused: list[bool] = field(default_factory=list)
    absent_refused: list[bool] = field(default_factory=list)
    absent_leaked: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)
    machine: str = ""
    answers: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        hybrid = self.retrieval["hybrid"].to_json()
        answered = bool(self.correct)
        out = {
            "questions": self.questions,
            **hybrid,
            "answer_in_prompt": _mean(self.in_prompt),
            "accuracy": _mean(self.correct) if answered else None,
            "refusal_when_absent": _mean(self.absent_refused) if self.absent_refused else None,
            "false_refusal": _mean(self.refused) if answered else None,
            "latency_p50_s": percentile(self.latency, 50) if answered else None,
            "latency_p95_s": percentile(self.latency, 95) if answered else None,
        }
        if answered:
            out["first_token_p50_s"] = percentile(self.first_token, 50)
        if self.absent_leaked:
            out["absent_still_correct"] = _mean(self.absent_leaked)
        if self.covered:
            out["by_coverage"] = {key: self._group(flag)
                                  for key, (flag, _) in _COVERAGE_GROUPS.items()}
        out["baselines"] = {m: s.to_json() for m, s in self.retrieval.items() if m != "hybrid"}
        seconds = self.retrieval["hybrid"].seconds
        out["retrieval_p50_s"] = percentile(seconds, 50) if seconds else None
        out["machine"] = self.machine
        return out

    def _group(self, covered: bool) -> dict:
        """The main figures over the questions whose coverage flag is ``covered``."""
        def pick(values: list) -> list:
            return [v for v, c in zip(values, self.covered) if c == covered]

        ranks = pick(self.retrieval["hybrid"].ranks)
        out: dict[str, Any] = {"questions": len(ranks), "hit@5": RetrievalScores(ranks).hit(5)}
        if self.correct:
            out["accuracy"] = _mean(pick(self.correct))
            out["false_refusal"] = _mean(pick(self.refused))
        if self.absent_refused:
            out["refusal_when_absent"] = _mean(pick(self.absent_refused))
        return out

    def table(self) -> str:
        j = self.to_json()
        rows = [f"{self.questions} questions on {self.machine}", "",
                "| retrieval | hit@1 | hit@5 | hit@10 | MRR@10 |", "|---|---|---|---|---|"]
        for mode, scores in self.retrieval.items():
            s = scores.to_json()
            rows.append(f"| {mode} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['hit@10']:.3f} "
                        f"| {s['mrr@10']:.3f} |")
        rows += ["", f"gold answer in what the model reads of the top passages: "
                     f"{j['answer_in_prompt']:.3f}"]
        if j["accuracy"] is not None:
            rows += ["", "| answers | value |", "|---|---|",
                     f"| accuracy | {j['accuracy']:.3f} |",
                     f"| false refusals | {j['false_refusal']:.3f} |"]
            if j["refusal_when_absent"] is not None:
                rows += [f"| refusal when absent | {j['refusal_when_absent']:.3f} |",
                         f"| still correct when absent | {j['absent_still_correct']:.3f} |"]
            rows += [f"| latency p50 / p95 (s) | {j['latency_p50_s']:.2f} / {j['latency_p95_s']:.2f} |",
                     f"| first token p50 (s) | {j['first_token_p50_s']:.2f} |"]
        if "by_coverage" in j:
            rows += ["", _coverage_table(j["by_coverage"])]
        return "\n".join(rows)


def _coverage_table(groups: dict[str, dict]) -> str:
    columns = ["questions", "hit@5", "accuracy", "false_refusal", "refusal_when_absent"]
    rows = ["| questions by coverage | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
            "|---" * (len(columns) + 1) + "|"]
    for key, figures in groups.items():
        cells = [_cell(figures.get(c)) for c in columns]
        rows.append(f"| {_COVERAGE_GROUPS[key][1]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0


_mean = _share


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, linear between the closest ranks.

    numpy's default rule, so p50 is the median and p0/p100 the least and greatest value;
    every figure this project prints (eval, benchmarks) uses this one rule.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values: measure something first")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0-100")
    rank = p / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_eval(
    assistant: Any,
    folder: Path,
    *,
    limit: int | None = None,
    retrieval_only: bool = False,
    baselines: bool = True,
    absent: bool = True,
    progress: bool = True,
) -> EvalResult:
    folder = Path(folder)
    questions = load_questions(folder, limit)
    assistant.ingest([folder / "articles"], progress=None)
    assistant.store.require_content()
    modes = ["hybrid", "lexical", "dense"] if baselines else ["hybrid"]
    retrievers = {m: HybridRetriever.from_settings(assistant.store, assistant.embeddings,
                                                   assistant.settings, mode=m)
                  for m in modes}
    result = EvalResult(len(questions), {m: RetrievalScores() for m in modes}, machine=_machine())
    for i, q in enumerate(questions, start=1):
        as_of = dt.date.fromisoformat(q["question_date"])
        result.covered.append(_story_covered(assistant.store, q, as_of))
        for mode, retriever in retrievers.items():
            got = retriever.retrieve(q["question"], k=10, as_of=as_of)
            result.retrieval[mode].ranks.append(score_retrieval(list(got.passages), q["answer"]))
            result.retrieval[mode].seconds.append(got.seconds)
            if mode == "hybrid":
                result.in_prompt.append(_in_prompt(got.passages, q, assistant.settings))
        if not retrieval_only:
            _ask(assistant, q, as_of, result, absent)
        if progress:
            print(f"\r{i}/{len(questions)} questions", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return result


def _story_covered(store: Any, q: dict, as_of: dt.date) -> bool:
    """One of the question's listed answer articles (``answer_in``) was published in the
    STORY_DAYS up to the question."""
    dates = store.published_dates(q.get("answer_in", []))
    return any(day is not None and 0 <= (as_of - day).days <= STORY_DAYS
               for day in dates.values())


def _in_prompt(passages: Sequence[Passage], q: dict, settings: Any) -> bool:
    read = focus_passages([p.text for p in passages[: settings.top_k]], q["question"],
                          settings.passage_words)
    return any(normalise(q["answer"]) in normalise(text) for text in read)


def _ask(assistant: Any, q: dict, as_of: dt.date, result: EvalResult, absent: bool) -> None:
    reply = assistant.answer(q["question"], as_of=as_of)
    correct = answer_correct(reply.text, q["answer"])
    result.correct.append(correct)
    result.refused.append(reply.refused)
    result.latency.append(reply.timings["total_s"])
    result.first_token.append(reply.timings["first_token_s"])
    record = {"id": q["id"], "question": q["question"], "gold": q["answer"],
              "answer": reply.text, "correct": correct, "refused": reply.refused,
              "support": round(reply.support, 3), "grounded": reply.grounded,
              "story_in_collection": result.covered[-1]}
    if absent:
        gone = assistant.answer(q["question"], as_of=as_of,
                                filters=Filters(exclude_articles=tuple(q["answer_in"])))
        leaked = answer_correct(gone.text, q["answer"])
        result.absent_refused.append(gone.refused and not leaked)
        result.absent_leaked.append(leaked)
        record.update(absent_answer=gone.text, absent_refused=gone.refused,
                      absent_support=round(gone.support, 3))
    result.answers.append(record)
