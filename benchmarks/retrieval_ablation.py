"""Which parts of hybrid retrieval help: each variant's hit@k on an evaluation folder.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/retrieval_ablation.py ../shared/newsqa-2025

Uses the index as it is (run `assistant eval PATH --retrieval-only` first to build it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from assistant import Assistant, Settings
from assistant.eval import RetrievalScores, load_questions, score_retrieval
from assistant.retrieval import HybridRetriever

VARIANTS = {
    "rrf only": dict(use_window=False, base_recency=0.0, per_article=99, collapse=False),
    "+ collapse": dict(use_window=False, base_recency=0.0, per_article=99),
    "+ 2 per article": dict(use_window=False, base_recency=0.0),
    "+ recency prior": dict(use_window=False),
    "+ time window, weight 1": dict(window_weight=1.0),
    "+ time window, weight 0.5 (default)": dict(),
    "+ time window, weight 0.25": dict(window_weight=0.25),
}


def main() -> None:
    folder = Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    a = Assistant(Settings())
    questions = load_questions(folder, limit)
    scores = {name: RetrievalScores() for name in VARIANTS}
    for q in questions:
        as_of = dt.date.fromisoformat(q["question_date"])
        for name, kw in VARIANTS.items():
            r = HybridRetriever(a.store, a.embeddings, candidates=a.settings.candidates, **kw)
            got = r.retrieve(q["question"], k=10, as_of=as_of)
            scores[name].ranks.append(score_retrieval(list(got.passages), q["answer"]))
    for name, s in scores.items():
        print(json.dumps({"variant": name, **{k: round(v, 3) for k, v in s.to_json().items()}}))


if __name__ == "__main__":
    main()
