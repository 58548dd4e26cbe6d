"""Would reranking the fused candidates by their best sentences lift hit@5?

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/rerank_study.py ../shared/newsqa-2025 [--limit N] [--depth 30]

For 80 of the 86 questions that hybrid retrieval misses at 5, a chunk with the answer is
among the candidates, ranked 10 to 50. No cross-encoder ships as a PyPI package here, so
this measures the two rerankers that need none, over each question's top ``depth``
passages as retrieval ranks them (fused, recency prior, duplicates collapsed):

- ``sentence``: MiniLM's best cosine between the question and one sentence, or two in a
  row, of the passage. A whole 200-word chunk dilutes the one sentence that answers.
- ``proximity``: the share of the question's words, weighted by rarity among the
  candidates (as in BM25), found within one to three sentences in a row, a little less
  for wider windows.

Each signal reranks alone and fused with retrieval's own rank (reciprocal rank, the
retrieval rank weighted 1 or 2). Prints one JSON line per ordering: hit@1/5/10 over all
questions and over each half (odd and even), so a gain that holds on one half only shows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

from assistant import Assistant, Settings
from assistant.eval import RetrievalScores, load_questions, score_retrieval
from assistant.retrieval import HybridRetriever
from assistant.terms import term_stems
from assistant.types import Passage
from index.chunking import split_segments

Signal = Callable[[str, Sequence[Passage]], list[float]]


def sentences(text: str) -> list[str]:
    return [text[a:b].strip() for a, b in split_segments(text) if text[a:b].strip()] or [text]


def sentence_signal(embeddings) -> Signal:
    def score(question: str, passages: Sequence[Passage]) -> list[float]:
        query = embeddings.encode_array([question])[0]
        scores = []
        for passage in passages:
            parts = sentences(passage.text)
            windows = parts + [f"{a} {b}" for a, b in pairwise(parts)]
            scores.append(float((embeddings.encode_array(windows) @ query).max()))
        return scores
    return score


def proximity_signal(question: str, passages: Sequence[Passage]) -> list[float]:
    asked = term_stems(question)
    stems = [term_stems(f"{p.title} {p.text}") for p in passages]
    idf = {w: math.log(1 + len(passages) / (1 + sum(w in s for s in stems))) for w in asked}
    total = sum(idf.values()) or 1.0
    scores = []
    for passage in passages:
        parts = [term_stems(s) for s in sentences(passage.text)]
        best = 0.0
        for i in range(len(parts)):
            for width in (1, 2, 3):
                found = asked & frozenset().union(*parts[i : i + width])
                best = max(best, sum(idf[w] for w in found) / total / (1 + 0.15 * (width - 1)))
        scores.append(best)
    return scores


def fused(scores: list[float], rank_weight: float) -> list[int]:
    """Positions reordered by reciprocal rank of the signal plus weighted retrieval rank."""
    by_signal = sorted(range(len(scores)), key=lambda i: -scores[i])
    signal_rank = {i: r for r, i in enumerate(by_signal)}
    return sorted(range(len(scores)),
                  key=lambda i: -(rank_weight / (61 + i) + 1 / (61 + signal_rank[i])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--depth", type=int, default=30)
    args = parser.parse_args()
    a = Assistant(Settings())
    retriever = HybridRetriever.from_settings(a.store, a.embeddings, a.settings)
    signals: dict[str, Signal] = {"sentence": sentence_signal(a.embeddings),
                                  "proximity": proximity_signal}
    orders: dict[str, list[list[Passage]]] = {}
    questions = load_questions(args.folder, args.limit)
    for q in questions:
        as_of = dt.date.fromisoformat(q["question_date"])
        ranked = list(retriever.retrieve(q["question"], k=args.depth, as_of=as_of).passages)
        orders.setdefault("retrieval", []).append(ranked)
        for name, signal in signals.items():
            scores = signal(q["question"], ranked)
            for weight in (0.0, 1.0, 2.0):
                label = f"{name} alone" if weight == 0 else f"{name} + retrieval rank x{weight:g}"
                orders.setdefault(label, []).append([ranked[i] for i in fused(scores, weight)])
    for label, ranked_lists in orders.items():
        ranks = [score_retrieval(r[:10], q["answer"]) for r, q in zip(ranked_lists, questions)]
        print(json.dumps({"ordering": label, "depth": args.depth,
                          "all": _hits(ranks), "odd": _hits(ranks[0::2]), "even": _hits(ranks[1::2])}))


def _hits(ranks: list[int | None]) -> dict:
    scores = RetrievalScores(ranks)
    return {"n": len(ranks)} | {f"hit@{k}": round(scores.hit(k), 3) for k in (1, 5, 10)}


if __name__ == "__main__":
    main()
