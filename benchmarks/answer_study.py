"""What the model itself says, and what the checks after it make of that: answers kept once.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/answer_study.py generate ../shared/newsqa-2025 OUT.jsonl [--limit N [--rest]]
    .venv/bin/python benchmarks/answer_study.py review OUT.jsonl [--min-support X] [--unsourced refuse|mark] [--no-window-check]
    .venv/bin/python benchmarks/answer_study.py signals OUT.jsonl

``generate`` asks each question as ``assistant eval`` does (normally, and with its
``answer_in`` articles left out) with the configured settings, and keeps per question the
model's own reply, the passages it was shown, the date window retrieval applied and the
prompt. ``review`` applies the checks after generation (``assistant.chain.review``) to
those replies, with any ``--min-support``, ``--unsourced`` and ``--no-window-check`` (the
date-window check needs the window; rows generated before it was kept have none), and
prints one JSON line: accuracy, false refusals, refusal when absent, and the share of the
model's own replies that hold the gold answer. So each check is judged on the same
replies, without running the model again. With the bundled llama.cpp model each row also
keeps the log-probabilities of the reply's tokens and of "the articles don't say" in its
place (:func:`reply_logprobs`), for studying the model's own confidence as a check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from assistant.chain import REFUSAL, is_refusal, review
from assistant.eval import answer_correct, load_questions, normalise
from assistant.types import DateWindow, Filters, Passage


def generate(folder: Path, out: Path, limit: int | None, rest: bool = False) -> None:
    from assistant import Assistant, Settings
    from assistant.chain import AnswerChain

    a = Assistant(Settings())
    if a.settings.reading != "together":
        raise SystemExit("answer_study keeps the replies to one prompt per question: run it with "
                         "ASSISTANT_READING=together (assistant eval --answers measures 'each')")
    chain = AnswerChain(a)
    with out.open("w", encoding="utf-8") as f:
        for q in _questions(folder, limit, rest):
            as_of = dt.date.fromisoformat(q["question_date"])
            for run, filters in (("normal", Filters()),
                                 ("absent", Filters(exclude_articles=tuple(q["answer_in"])))):
                state = chain.prepare.invoke(chain._inputs(q["question"], as_of, filters))
                prompt, shown = state["prompt"]
                started = time.perf_counter()
                reply = a.llm.invoke(prompt) if prompt is not None else ""
                generate_s = time.perf_counter() - started
                window = state["retrieval"].window
                scores = reply_logprobs(a.llm, reply) if prompt is not None else {}
                f.write(json.dumps({
                    "id": q["id"], "run": run, "question": state["standalone"], "gold": q["answer"],
                    "as_of": as_of.isoformat(),
                    "window": window and [d and d.isoformat() for d in (window.start, window.end)],
                    "reply": reply, "generate_s": round(generate_s, 3), **scores,
                    "passages": [_passage_json(p) for p in shown],
                    "prompt": prompt.to_string() if prompt is not None else "",
                }) + "\n")
                f.flush()


def _questions(folder: Path, limit: int | None, rest: bool) -> list[dict]:
    """The ``--limit`` spread, or with ``rest`` the others: a study part and its check."""
    chosen = load_questions(folder, limit)
    if not rest:
        return chosen
    ids = {q["id"] for q in chosen}
    return [q for q in load_questions(folder) if q["id"] not in ids]


def reply_logprobs(llm: object, reply: str) -> dict:
    """How sure the local model was of its reply, and how likely it found refusing.

    Read from llama.cpp's cache right after the reply: the prompt and the reply are still
    there, so only the reply's few tokens (and the refusal's) are evaluated again, with
    their logits kept. Other backends, or a cache that does not end in the reply: {}.
    """
    llama = getattr(llm, "llama", None)
    if llama is None or not reply:
        return {}
    tokens = llama.tokenize(reply.encode("utf-8"), add_bos=False, special=False)
    start = llama.n_tokens - len(tokens)
    cached = [int(t) for t in llama.input_ids[start:llama.n_tokens]]
    if start < 1 or cached != tokens:
        return {}
    refusal = llama.tokenize(REFUSAL.encode("utf-8"), add_bos=False, special=False)
    return {"reply_logprobs": _logprobs_after(llama, start, tokens),
            "refusal_logprobs": _logprobs_after(llama, start, refusal)}


def _logprobs_after(llama: object, start: int, tokens: list[int]) -> list[float]:
    """Log-probabilities of ``tokens`` following the first ``start`` cached tokens."""
    import numpy as np

    # The logits before each token come from evaluating the token ahead of it again.
    feed = [int(llama.input_ids[start - 1]), *tokens[:-1]]
    llama._ctx.kv_cache_seq_rm(-1, start - 1, -1)
    llama._batch.set_batch(batch=feed, n_past=start - 1, logits_all=True)
    llama._ctx.decode(llama._batch)
    vocab = llama.n_vocab()
    logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(feed) * vocab,))
    logits = logits.reshape(len(feed), vocab).astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    norm = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    llama.input_ids[start - 1:start - 1 + len(feed)] = feed
    llama.n_tokens = start - 1 + len(feed)
    return [round(float(x), 4) for x in logits[np.arange(len(feed)), tokens] - norm]


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


def _window(record: dict) -> DateWindow | None:
    if not record.get("window"):  # none applied, or replies generated before it was kept
        return None
    start, end = (d and dt.date.fromisoformat(d) for d in record["window"])
    return DateWindow(start, end)


def score(rows: list[dict], min_support: float, unsourced: str, window_check: bool = True) -> dict:
    outcome: dict[str, list] = {"correct": [], "refused": [], "absent_refused": [], "leaked": [],
                                "reply_correct": [], "model_refused": []}
    for row in rows:
        shown = [_passage(p) for p in row["passages"]]
        got = review(row["reply"], row["question"], shown, min_support=min_support,
                     unsourced=unsourced, window=_window(row) if window_check else None)
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
        "window_check": window_check,
    }


def _mean(flags: list) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def signals(rows: list[dict], min_support: float, unsourced: str) -> dict:
    """The model's confidence in each kept reply as a reason to refuse it: AUC and cuts."""
    judged = []
    for row in rows:
        got = review(row["reply"], row["question"], [_passage(p) for p in row["passages"]],
                     min_support=min_support, unsourced=unsourced, window=_window(row))
        lp = row.get("reply_logprobs")
        judged.append({"run": row["run"], "refused": got.refused,
                       "correct": answer_correct(got.text, row["gold"]),
                       **{name: value(lp, row["refusal_logprobs"]) if lp else None
                          for name, value in _CONFIDENCE.items()}})
    report = {}
    for name in _CONFIDENCE:
        right = [r[name] for r in judged if r["run"] == "normal" and r["correct"]]
        invented = [r[name] for r in judged
                    if r["run"] == "absent" and not r["refused"] and not r["correct"]]
        # Cuts that would refuse a given share of the kept answers (one the model's cache
        # could not score is never refused); log-probabilities are all negative, so "no
        # check" is minus infinity, not by_threshold's usual 0.
        kept = sorted(math.inf if r[name] is None else r[name] for r in judged
                      if r["run"] == "normal" and not r["refused"])
        cuts = [kept[int(share * len(kept))] for share in (0.05, 0.1, 0.2, 0.3)]
        report[name] = {"auc": auc([x for x in right if x is not None],
                                   [x for x in invented if x is not None]),
                        "refuse_under": by_threshold(judged, name, cuts, floor=-math.inf)}
    return report


# Each a score of how sure the model was of its reply (higher: surer), from the reply's
# token log-probabilities and those of the refusal in its place.
_CONFIDENCE = {
    "mean": lambda lp, rf: statistics.mean(lp),
    "lowest": lambda lp, rf: min(lp),
    "first": lambda lp, rf: lp[0],
    "first3": lambda lp, rf: sum(lp[:3]),
    "refusal": lambda lp, rf: -sum(rf),
    "reply_over_refusal": lambda lp, rf: sum(lp[:len(rf)]) - sum(rf),
}


def auc(positive: list[float], negative: list[float]) -> float | None:
    """ROC AUC of a score between two groups: 0.5 is chance."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 3)


def by_threshold(
    scored: list[dict], signal: str, thresholds: Sequence[float], floor: float = 0.0
) -> dict:
    """Accuracy and refusals if every kept answer scoring under a threshold were refused.

    ``floor`` is the first row's threshold, one no score falls under: the table's "no
    check" line. An answer refused for its score says "the articles don't say", so it no
    longer holds the gold answer: with the answer left out it counts as a refusal.
    """
    normal = [r for r in scored if r["run"] == "normal"]
    absent = [r for r in scored if r["run"] == "absent"]
    table = {}
    for threshold in (floor, *thresholds):
        def cut(r: dict, threshold: float = threshold) -> bool:
            return r[signal] is not None and r[signal] < threshold
        table[str(threshold)] = {
            "accuracy": _mean([r["correct"] and not cut(r) for r in normal]),
            "false_refusal": _mean([r["refused"] or cut(r) for r in normal]),
            "refusal_when_absent": _mean([(r["refused"] and not r["correct"]) or cut(r)
                                          for r in absent]),
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("folder", type=Path)
    gen.add_argument("out", type=Path)
    gen.add_argument("--limit", type=int)
    gen.add_argument("--rest", action="store_true",
                     help="the questions --limit leaves out instead: to check what it chose")
    checks = argparse.ArgumentParser(add_help=False)
    checks.add_argument("replies", type=Path)
    checks.add_argument("--min-support", type=float, default=0.4)
    checks.add_argument("--unsourced", choices=("refuse", "mark"), default="refuse")
    rev = sub.add_parser("review", parents=[checks])
    rev.add_argument("--no-window-check", action="store_true",
                     help="keep answers whose sources all predate the question's date window")
    sub.add_parser("signals", parents=[checks],
                   help="the model's own confidence as a reason to refuse")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.folder, args.out, args.limit, args.rest)
        return
    rows = [json.loads(line) for line in args.replies.read_text(encoding="utf-8").splitlines() if line]
    if args.command == "signals":
        print(json.dumps(signals(rows, args.min_support, args.unsourced), indent=1))
        return
    print(json.dumps(score(rows, args.min_support, args.unsourced, not args.no_window_check)))


if __name__ == "__main__":
    main()
