"""What the model itself says, and what the checks after it make of that: answers kept once.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/answer_study.py generate ../shared/newsqa-2025 OUT.jsonl [--limit N]
    .venv/bin/python benchmarks/answer_study.py review OUT.jsonl [--min-support X] [--unsourced refuse|mark]

``generate`` asks each question as ``assistant eval`` does (normally, and with its
``answer_in`` articles left out) with the configured settings, and keeps per question the
model's own reply, the passages it was shown and the prompt. ``review`` applies the
checks after generation (``assistant.chain.review``) to those replies, with any
``--min-support`` and ``--unsourced``, and prints one JSON line: accuracy, false
refusals, refusal when absent, and the share of the model's own replies that hold the
gold answer. So each check is judged on the same replies, without running the model again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from assistant.chain import is_refusal, review
from assistant.eval import answer_correct, load_questions, normalise
from assistant.types import Filters, Passage


def generate(folder: Path, out: Path, limit: int | None) -> None:
    from assistant import Assistant, Settings
    from assistant.chain import AnswerChain

    a = Assistant(Settings())
    chain = AnswerChain(a)
    with out.open("w", encoding="utf-8") as f:
        for q in load_questions(folder, limit):
            as_of = dt.date.fromisoformat(q["question_date"])
            for run, filters in (("normal", Filters()),
                                 ("absent", Filters(exclude_articles=tuple(q["answer_in"])))):
                state = chain.prepare.invoke(chain._inputs(q["question"], as_of, filters))
                prompt, shown = state["prompt"]
                started = time.perf_counter()
                reply = a.llm.invoke(prompt) if prompt is not None else ""
                f.write(json.dumps({
                    "id": q["id"], "run": run, "question": state["standalone"], "gold": q["answer"],
                    "reply": reply, "generate_s": round(time.perf_counter() - started, 3),
                    "passages": [_passage_json(p) for p in shown],
                    "prompt": prompt.to_string() if prompt is not None else "",
                }) + "\n")
                f.flush()


def _passage_json(passage: Passage) -> dict:
    record = asdict(passage)
    record["published"] = passage.published.isoformat() if passage.published else None
    return record


def _passage(record: dict) -> Passage:
    fields = dict(record, also_reporting=tuple(tuple(x) for x in record["also_reporting"]),
                  chunk_ids=tuple(record["chunk_ids"]))
    if fields["published"]:
        fields["published"] = dt.date.fromisoformat(fields["published"])
    return Passage(**fields)


def score(rows: list[dict], min_support: float, unsourced: str) -> dict:
    outcome: dict[str, list] = {"correct": [], "refused": [], "absent_refused": [], "leaked": [],
                                "reply_correct": [], "model_refused": []}
    for row in rows:
        shown = [_passage(p) for p in row["passages"]]
        got = review(row["reply"], row["question"], shown,
                     min_support=min_support, unsourced=unsourced)
        correct = answer_correct(got.text, row["gold"])
        if row["run"] == "normal":
            outcome["correct"].append(correct)
            outcome["refused"].append(got.refused)
            outcome["reply_correct"].append(answer_correct(row["reply"], row["gold"]))
            outcome["model_refused"].append(is_refusal(row["reply"]))
        else:
            outcome["absent_refused"].append(got.refused and not correct)
            outcome["leaked"].append(correct)
    normal = [r for r in rows if r["run"] == "normal"]
    # The passages section as the model saw it, titles included: higher than the
    # ``answer_in_prompt`` of ``assistant eval``, which counts passage texts only.
    read = [normalise(r["gold"]) in normalise(r["prompt"].split("<passages>")[-1]) for r in normal]
    return {
        "questions": len(normal),
        "accuracy": _mean(outcome["correct"]),
        "false_refusal": _mean(outcome["refused"]),
        "refusal_when_absent": _mean(outcome["absent_refused"]),
        "absent_still_correct": _mean(outcome["leaked"]),
        "model_reply_correct": _mean(outcome["reply_correct"]),
        "model_refused_itself": _mean(outcome["model_refused"]),
        "answer_in_prompt_text": _mean(read),
        "generate_p50_s": statistics.median(r["generate_s"] for r in normal) if normal else None,
        "min_support": min_support,
        "unsourced": unsourced,
    }


def _mean(flags: list) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("folder", type=Path)
    gen.add_argument("out", type=Path)
    gen.add_argument("--limit", type=int)
    rev = sub.add_parser("review")
    rev.add_argument("replies", type=Path)
    rev.add_argument("--min-support", type=float, default=0.4)
    rev.add_argument("--unsourced", choices=("refuse", "mark"), default="refuse")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.folder, args.out, args.limit)
        return
    rows = [json.loads(line) for line in args.replies.read_text(encoding="utf-8").splitlines() if line]
    print(json.dumps(score(rows, args.min_support, args.unsourced)))


if __name__ == "__main__":
    main()
