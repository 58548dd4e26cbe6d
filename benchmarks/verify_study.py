"""Can the model check its own answers? A yes/no question per kept answer, scored.

    .venv/bin/python benchmarks/verify_study.py REPLIES.jsonl [--out SCORED.jsonl] [--limit N]

REPLIES is what ``answer_study.py generate`` wrote. Each reply that the checks after
generation keep (``assistant.chain.review``) goes back to the local model with only the
passages it cites, as the model read them, and the question: "does the passage say that
this is the answer?". The model's probability of "Yes" against "No" is the check's score.
Prints one JSON line: how well that score tells right answers from wrong ones (ROC AUC
against wrong answers when the answer was left out, and when it was not; 0.5 is chance),
and accuracy / false refusals / refusal when absent if answers under each threshold became
"the articles don't say". A check with an AUC near 0.5 buys each refusal with a right answer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_study import _passage, auc, by_threshold

from assistant import Settings
from assistant.chain import review
from assistant.eval import answer_correct
from assistant.evidence import focus_passages
from assistant.model_files import resolve_model_file

SYSTEM = "You check answers against news passages. Reply with Yes or No only."
USER = (
    "Passage:\n{passage}\n\nQuestion: {question}\nProposed answer: {answer}\n\n"
    "Does the passage say that this is the answer to the question? Yes or No:"
)
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
_MARKERS = re.compile(r"\s*\[\d+(?:,\s*\d+)*\]")


def p_yes(llama, passage: str, question: str, answer: str) -> float:
    reply = llama.create_chat_completion(
        messages=[{"role": "system", "content": SYSTEM},
                  {"role": "user", "content": USER.format(
                      passage=passage, question=question, answer=answer)}],
        max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=10,
    )
    top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    logprob = {d["token"].strip().lower(): d["logprob"] for d in top}
    yes, no = (math.exp(logprob.get(word, -30.0)) for word in ("yes", "no"))
    return yes / (yes + no)


def judge(row: dict, llama, settings: Settings) -> dict:
    shown = [_passage(p) for p in row["passages"]]
    got = review(row["reply"], row["question"], shown,
                 min_support=settings.min_support, unsourced=settings.unsourced)
    scored = {"id": row["id"], "run": row["run"], "refused": got.refused,
              "correct": answer_correct(got.text, row["gold"]), "p_yes": None}
    if got.refused or not got.citations:
        return scored
    read = focus_passages([p.text for p in shown], row["question"], settings.passage_words)
    cited = "\n\n".join(
        f"{shown[c.n - 1].title} ({c.outlet}, {c.published_date})\n{read[c.n - 1]}"
        for c in got.citations
    )
    scored["p_yes"] = p_yes(llama, cited, row["question"], _MARKERS.sub("", got.text))
    return scored


def summary(scored: list[dict]) -> dict:
    kept = [r for r in scored if r["p_yes"] is not None]
    right = [r["p_yes"] for r in kept if r["correct"] and r["run"] == "normal"]
    return {
        "checked": len(kept),
        "auc_right_vs_wrong_absent": auc(right, _wrong(kept, "absent")),
        "auc_right_vs_wrong_normal": auc(right, _wrong(kept, "normal")),
        "by_threshold": by_threshold(scored, "p_yes", THRESHOLDS),
    }


def _wrong(kept: list[dict], run: str) -> list[float]:
    return [r["p_yes"] for r in kept if r["run"] == run and not r["correct"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("replies", type=Path)
    parser.add_argument("--out", type=Path, help="one JSON line per reply, with its score")
    parser.add_argument("--limit", type=int, help="the first N replies only")
    args = parser.parse_args()
    from llama_cpp import Llama

    settings = Settings()
    path = resolve_model_file(settings.llm_model, settings.models_dir)
    # logits_all: the probabilities of "Yes" and "No", not just the likelier token.
    threads = settings.llm_threads or os.cpu_count()
    llama = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, logits_all=True,
                  verbose=False)
    lines = [line for line in args.replies.read_text(encoding="utf-8").splitlines() if line]
    rows = [json.loads(line) for line in lines[: args.limit]]
    scored = [judge(row, llama, settings) for row in rows]
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in scored), encoding="utf-8")
    print(json.dumps(summary(scored)))


if __name__ == "__main__":
    main()
