"""How many passages ``reading="each"`` finds worth reading, how many it reads, and what
each reading costs.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/reading_calls.py ../shared/newsqa-2025 [--limit N] [--calls-limit M] [--replies FILE]

For every question (or ``--limit`` of them): the passages worth reading (no model call).
For ``--calls-limit`` questions spread over the year: the model calls one answer takes,
reading stopping once the rest could not change it, and for each call its seconds, its
prompt's tokens and its reply's (``--replies`` keeps every call as a JSON line). Prints
one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.chain import AnswerChain
from assistant.eval import load_questions, percentile
from assistant.types import Filters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--calls-limit", type=int, default=40)
    parser.add_argument("--replies", type=Path, help="write every model call here (JSON lines)")
    args = parser.parse_args()
    assistant = Assistant(Settings(reading="each"))
    chain = AnswerChain(assistant)
    worth = []
    for q in load_questions(args.folder, args.limit):
        as_of = dt.date.fromisoformat(q["question_date"])
        prompts, _ = chain.prepare.invoke(chain._inputs(q["question"], as_of, Filters()))["prompt"]
        worth.append(len(prompts or []))
    llm, log = assistant.llm, []
    invoke = llm.invoke

    def timed(prompt, *rest, **kwargs):
        started = time.perf_counter()
        reply = invoke(prompt, *rest, **kwargs)
        log.append({"seconds": time.perf_counter() - started, "reply": reply,
                    "prompt_tokens": llm.count_tokens(prompt.to_string()),
                    "reply_tokens": llm.count_tokens(reply)})
        return reply

    llm.invoke = timed
    made, totals, calls = [], [], []
    for q in load_questions(args.folder, args.calls_limit):
        log.clear()
        answer = chain.answer(q["question"], as_of=dt.date.fromisoformat(q["question_date"]))
        made.append(len(log))
        totals.append(answer.timings["total_s"])
        calls += [{"id": q["id"], **call} for call in log]
    if args.replies:
        args.replies.write_text("".join(json.dumps(call) + "\n" for call in calls))
    print(json.dumps({
        "questions": len(worth), "worth_reading_mean": round(statistics.mean(worth), 2),
        "none_worth_reading": sum(n == 0 for n in worth),
        "calls_questions": len(made), "calls_mean": round(statistics.mean(made), 2),
        "calls_median": statistics.median(made), "calls": sorted(made),
        "answer_s": _spread(totals),
        "call_s": _spread([c["seconds"] for c in calls]),
        "prompt_tokens": _spread([c["prompt_tokens"] for c in calls]),
        "reply_tokens": _spread([c["reply_tokens"] for c in calls]),
        "replies_at_max_tokens": sum(c["reply_tokens"] >= llm.max_tokens for c in calls),
    }))


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "max": round(max(values), 3), "mean": round(statistics.mean(values), 3)}


if __name__ == "__main__":
    main()
