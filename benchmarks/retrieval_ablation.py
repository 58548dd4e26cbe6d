"""Which parts of hybrid retrieval help: each variant's hit@k on an evaluation folder.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/retrieval_ablation.py ../shared/newsqa-2025 [LIMIT] [--only WORD]

Uses the index as it is (run `assistant eval PATH --retrieval-only` first to build it).
``--only common,BM25`` runs just the variants whose name holds one of those words. Prints one JSON line
per variant: hit@k, MRR@10 and the median retrieval time, and, where the default ran too,
the questions it finds at 5 that the default does not and the other way round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from pathlib import Path

from assistant import Assistant, Settings
from assistant.eval import RetrievalScores, load_questions, score_retrieval
from assistant.retrieval import HybridRetriever

# name: (HybridRetriever options, share of chunks above which BM25 leaves a word out)
_CHUNKS = dict(join_articles=False, per_article=2)  # every chunk its own source (default)
_PLAIN = dict(use_window=False, base_recency=0.0, join_articles=False)
_DEFAULT = "+ time window, weight 0.5 (default)"
VARIANTS = {
    "rrf only": (dict(**_PLAIN, per_article=99, collapse=False), 0.0),
    "+ collapse": (dict(**_PLAIN, per_article=99), 0.0),
    "+ 2 per article": (dict(**_PLAIN, per_article=2), 0.0),
    "+ recency prior": (dict(use_window=False, **_CHUNKS), 0.0),
    "+ time window, weight 1": (dict(window_weight=1.0, **_CHUNKS), 0.0),
    _DEFAULT: (dict(**_CHUNKS), 0.0),
    "+ time window, weight 0.25": (dict(window_weight=0.25, **_CHUNKS), 0.0),
    "chunks joined by article, 2 per article": (dict(join_articles=True, per_article=2), 0.0),
    "chunks joined by article, 3 per article": (dict(join_articles=True, per_article=3), 0.0),
    "chunks joined by article, 4 per article": (dict(join_articles=True, per_article=4), 0.0),
    "default, common words (>10% of chunks) left out": (dict(), 0.10),
    "default, common words (>5% of chunks) left out": (dict(), 0.05),
    "default, common words (>2% of chunks) left out": (dict(), 0.02),
    "default, time words left out of the dense query too": (dict(strip_dense=True), 0.0),
    "default, dense feedback from the first 1": (dict(feedback=1), 0.0),
    "default, dense feedback from the first 3": (dict(feedback=3), 0.0),
    "default, dense feedback from the first 5": (dict(feedback=5), 0.0),
    "default, BM25 feedback: 10 words of the first 3": (dict(feedback=3, feedback_dense=False, feedback_terms=10), 0.0),
    "default, dense and BM25 feedback from the first 3": (dict(feedback=3, feedback_terms=10), 0.0),
    "default, last 14 days searched too, weight 0.5": (dict(recent_days=14), 0.0),
    "default, last 30 days searched too, weight 0.5": (dict(recent_days=30), 0.0),
    "default, last 60 days searched too, weight 0.5": (dict(recent_days=60), 0.0),
    "default, last 30 days searched too, weight 1": (dict(recent_days=30, recent_weight=1.0), 0.0),
    "default, last 30 days searched too, weight 0.25": (
        dict(recent_days=30, recent_weight=0.25), 0.0),
    "default, BM25 weighs 1.5 in the fusion": (dict(lexical_weight=1.5), 0.0),
    "default, BM25 weighs 0.67 in the fusion": (dict(lexical_weight=0.67), 0.0),
    "BM25 alone": (dict(mode="lexical"), 0.0),
    "BM25 alone, common words (>5%) left out": (dict(mode="lexical"), 0.05),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("limit", type=int, nargs="?")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    words = args.only.split(",")
    variants = {n: v for n, v in VARIANTS.items() if any(w in n for w in words)}
    a = Assistant(Settings())
    questions = load_questions(args.folder, args.limit)
    scores = {name: RetrievalScores() for name in variants}
    for q in questions:
        as_of = dt.date.fromisoformat(q["question_date"])
        for name, (options, share) in variants.items():
            a.store.common_share = share
            # The settings' prior unless the variant sets its own, so that "default" is the
            # assistant's retrieval even when ASSISTANT_RETRIEVAL_RECENCY changes it.
            options = {"base_recency": a.settings.retrieval_recency, **options}
            r = HybridRetriever(a.store, a.embeddings, candidates=a.settings.candidates, **options)
            got = r.retrieve(q["question"], k=10, as_of=as_of)
            scores[name].ranks.append(score_retrieval(list(got.passages), q["answer"]))
            scores[name].seconds.append(got.seconds)
    default = scores.get(_DEFAULT)
    for name, s in scores.items():
        figures = {k: round(v, 3) for k, v in s.to_json().items()}
        median_ms = round(1000 * statistics.median(s.seconds), 1)
        moved = _moved_at_5(default, s) if default and s is not default else {}
        print(json.dumps({"variant": name, **figures, "retrieval_p50_ms": median_ms, **moved}))


def _moved_at_5(default: RetrievalScores, other: RetrievalScores) -> dict:
    """Questions found at 5 only by ``other`` and only by the default: a gain of a few
    questions that also loses as many is a reshuffle, not a method."""
    def hits(s):
        return [r is not None and r <= 5 for r in s.ranks]
    pairs = list(zip(hits(default), hits(other)))
    return {"gained@5": sum(o and not d for d, o in pairs),
            "lost@5": sum(d and not o for d, o in pairs)}


if __name__ == "__main__":
    main()
