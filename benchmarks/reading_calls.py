"""How many passages ``reading="each"`` finds worth reading, and how many it reads.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/reading_calls.py ../shared/newsqa-2025 [--limit N] [--calls-limit M]

For every question (or ``--limit`` of them): the passages worth reading (no model call).
For ``--calls-limit`` questions spread over the year: the model calls one answer takes,
reading stopping once the rest could not change it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from pathlib import Path

from assistant import Assistant, Settings
from assistant.chain import AnswerChain
from assistant.eval import load_questions
from assistant.types import Filters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--calls-limit", type=int, default=40)
    args = parser.parse_args()
    assistant = Assistant(Settings(reading="each"))
    chain = AnswerChain(assistant)
    worth = []
    for q in load_questions(args.folder, args.limit):
        as_of = dt.date.fromisoformat(q["question_date"])
        prompts, _ = chain.prepare.invoke(chain._inputs(q["question"], as_of, Filters()))["prompt"]
        worth.append(len(prompts or []))
    llm, calls = assistant.llm, [0]
    invoke = llm.invoke

    def counted(prompt, *rest, **kwargs):
        calls[0] += 1
        return invoke(prompt, *rest, **kwargs)

    llm.invoke = counted
    made = []
    for q in load_questions(args.folder, args.calls_limit):
        calls[0] = 0
        chain.answer(q["question"], as_of=dt.date.fromisoformat(q["question_date"]))
        made.append(calls[0])
    print(json.dumps({
        "questions": len(worth), "worth_reading_mean": round(statistics.mean(worth), 2),
        "none_worth_reading": sum(n == 0 for n in worth),
        "calls_questions": len(made), "calls_mean": round(statistics.mean(made), 2),
        "calls_median": statistics.median(made), "calls": sorted(made),
    }))


if __name__ == "__main__":
    main()
