"""Does retrieval's confidence tell right answers from invented ones?

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/confidence_study.py ../shared/newsqa-2025 ANSWERS.jsonl [--study 120]

ANSWERS is what ``assistant eval --answers`` wrote (both runs of each question). Each
question is retrieved again, as that run did (normally, and with its ``answer_in``
articles left out), and each kept answer gets two scores: MiniLM's cosine between the
question and the passages it cites, and the fused score of the top passage. Prints one
JSON line per score and part of the set (the ``--study`` questions that
``assistant eval --limit N`` asks, then the rest, so a threshold read off one part is
judged on the other): the ROC AUC of right answers against wrong ones when the answer was
left out (0.5 is chance), and accuracy / false refusals / refusal when absent if answers
scoring under each threshold became "the articles don't say".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_study import auc, by_threshold

from assistant import Assistant, Settings
from assistant.chain import parse_citations
from assistant.eval import answer_correct, load_questions
from assistant.retrieval import HybridRetriever
from assistant.types import Filters

THRESHOLDS = {"cosine": (0.3, 0.35, 0.4, 0.45, 0.5, 0.55), "top_fused": (0.02, 0.025, 0.03)}


def scored_runs(assistant, retriever, question: dict, answers: dict) -> list[dict]:
    as_of = dt.date.fromisoformat(question["question_date"])
    asked = np.array(assistant.embeddings.embed_query(question["question"]))
    runs = (("normal", Filters(), answers["answer"], answers["refused"]),
            ("absent", Filters(exclude_articles=tuple(question["answer_in"])),
             answers["absent_answer"], answers["absent_refused"]))
    scored = []
    for run, filters, text, refused in runs:
        shown = retriever.retrieve(question["question"], k=assistant.settings.top_k,
                                   as_of=as_of, filters=filters).passages
        _, citations = parse_citations(text, shown)
        cosine = None
        if citations and not refused:
            cited = assistant.embeddings.embed_documents([c.passage for c in citations])
            cosine = float((np.array(cited) @ asked).max())
        scored.append({
            "run": run, "refused": refused, "correct": answer_correct(text, question["answer"]),
            "cosine": cosine, "top_fused": None if refused or not shown else shown[0].score,
        })
    return scored


def summary(rows: list[dict], signal: str, part: str) -> dict:
    right = [r[signal] for r in rows
             if r["run"] == "normal" and r[signal] is not None and r["correct"]]
    invented = [r[signal] for r in rows
                if r["run"] == "absent" and r[signal] is not None and not r["correct"]]
    return {"signal": signal, "part": part, "questions": sum(r["run"] == "normal" for r in rows),
            "auc_right_vs_wrong_absent": auc(right, invented),
            "by_threshold": by_threshold(rows, signal, THRESHOLDS[signal])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("answers", type=Path)
    parser.add_argument("--study", type=int, default=120)
    args = parser.parse_args()
    answers = {r["id"]: r for r in map(json.loads, args.answers.read_text().splitlines())}
    study = {q["id"] for q in load_questions(args.folder, args.study)}
    assistant = Assistant(Settings())
    retriever = HybridRetriever.from_settings(assistant.store, assistant.embeddings,
                                              assistant.settings)
    parts: dict[str, list[dict]] = {"study": [], "rest": []}
    for question in load_questions(args.folder, None):
        if question["id"] in answers:
            part = "study" if question["id"] in study else "rest"
            parts[part] += scored_runs(assistant, retriever, question, answers[question["id"]])
    for signal in THRESHOLDS:
        for part, rows in parts.items():
            print(json.dumps(summary(rows, signal, part)))


if __name__ == "__main__":
    main()
