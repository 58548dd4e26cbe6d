"""Each passage read alone, every reply kept once: rules for choosing the answer judged
without running the model again.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/reading_study.py generate ../shared/newsqa-2025 OUT.jsonl [--limit N [--rest]] [--reuse ROWS]
    .venv/bin/python benchmarks/reading_study.py reread ROWS OUT --prompts DIR [--limit N [--rest]]
    .venv/bin/python benchmarks/reading_study.py replay OUT.jsonl [--limit N [--rest]] [--top K] [--days D] [--min-weight W] [--min-sources N] [--headline H] [--nearness N] [--min-support S]

``generate`` asks each question as ``assistant eval`` does (normally, and with its
``answer_in`` articles left out) with ``ASSISTANT_READING=each``, but has the model read
every one of the ``top_k`` passages alone, also those the chain would skip, and keeps each
reply with its passage, the day recency is measured from and the date window. Appends,
and skips the runs already in OUT, so a stopped run goes on where it was. With
``--reuse ROWS`` (kept by an earlier ``generate`` with the same prompts), a reply to the
same words of the same passage in the same run is taken from ROWS instead of asking the
model again: rows for a deeper ``ASSISTANT_TOP_K`` cost only the passages that are new.

``reread`` asks the model again about the passages kept in ROWS, the same words of each,
with the reading prompt files of another folder (``read_system.md``, ``read_user.md``),
and writes rows like ROWS with the new replies: a prompt judged on the same passages, with
no retrieval run.

``replay`` runs the chain's reading loop over those replies (the same functions: reading
order, :func:`worth_reading`, :func:`settled`, :func:`choose`) with any settings given,
and prints one JSON line: accuracy, false refusals, refusal when absent, model calls per
answer. With no settings given it reproduces what ``assistant eval`` answers with the
defaults, so a rule is judged on the same replies as the default. ``--top K`` keeps only
each run's first K passages, as if ``ASSISTANT_TOP_K`` had been K.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from dataclasses import asdict, replace
from pathlib import Path

from assistant.checks import REFUSAL
from assistant.eval import answer_correct
from assistant.reading import ReadingRule, choose, read_in_turn, reading_order, worth_reading
from assistant.terms import content_terms
from assistant.types import Filters, Passage
from benchmarks.answer_study import _passage, _passage_json, _questions, _window


def generate(folder: Path, out: Path, limit: int | None, rest: bool = False,
             reuse: Path | None = None) -> None:
    from assistant import Assistant, Settings

    a = Assistant(Settings())
    if a.settings.reading != "each":
        raise SystemExit("reading_study keeps the replies to each passage read alone: run it "
                         "with ASSISTANT_READING=each (the default)")
    done = {(r["id"], r["run"]) for r in _rows(out)} if out.exists() else set()
    kept = _replies_by_run(_rows(reuse)) if reuse else {}
    with out.open("a", encoding="utf-8") as f:
        for q in _questions(folder, limit, rest):
            for run in ("normal", "absent"):
                if (q["id"], run) not in done:
                    row = record(a, q, run, known=kept.get((q["id"], run), {}))
                    f.write(json.dumps(row) + "\n")
                    f.flush()


def _replies_by_run(rows: list[dict]) -> dict[tuple, dict[tuple, str]]:
    """For each run of ``rows``, its replies by passage (its chunk, the chunks joined in it)
    and the words of it read."""
    return {(row["id"], row["run"]): {
        _reply_key(p, text): reply
        for p, text, reply in zip(row["passages"], row["read"], row["replies"])}
        for row in rows}


def _reply_key(passage: dict, text: str) -> tuple:
    """What a kept reply answered: a passage as stored (its chunk, the chunks joined in it)
    and the words of it read."""
    return passage["chunk_id"], tuple(passage["chunk_ids"]), text


def record(a: object, q: dict, run: str, known: dict[tuple, str] | None = None) -> dict:
    """One run of question ``q`` ("normal", or "absent": its ``answer_in`` articles left out):
    what ``a``'s chain retrieves, and the model's reply to each of those passages alone
    (from ``known``, by the passage's chunks and the words read, where it holds one)."""
    from assistant.chain import AnswerChain
    from assistant.evidence import focus_passages
    from assistant.prompts import reading_prompt

    chain, template = AnswerChain(a), reading_prompt()
    filters = Filters(exclude_articles=tuple(q["answer_in"])) if run == "absent" else Filters()
    as_of = dt.date.fromisoformat(q["question_date"])
    state = chain.prepare.invoke(chain._inputs(q["question"], as_of, filters))
    passages = list(state["retrieval"].passages)
    read = focus_passages([p.text for p in passages], state["standalone"], a.settings.passage_words)
    stored = [_passage_json(p) for p in passages]
    known = known or {}

    def reply(p: Passage, kept: dict, text: str) -> str:
        key = _reply_key(kept, text)
        if key in known:
            return known[key]
        return a.llm.invoke(chain._prompt_for(template, state, [replace(p, text=text)]))

    replies = [reply(p, kept, t) for p, kept, t in zip(passages, stored, read)]
    window = state["retrieval"].window
    return {
        "id": q["id"], "run": run, "question": state["standalone"], "gold": q["answer"],
        "as_of": as_of.isoformat(), "reference": state["reference"].isoformat(),
        "window": window and [d and d.isoformat() for d in (window.start, window.end)],
        "passages": stored, "read": read, "replies": replies,
        "rarity": a.store.term_rarity(sorted(set(content_terms(state["standalone"])))),
    }


def reread(rows: list[dict], out: Path, llm: object, template: object) -> None:
    """``rows`` read again by ``llm`` with the reading prompt ``template``; appends to
    ``out``, and skips the runs already there."""
    from assistant.prompts import fill_prompt

    done = {(r["id"], r["run"]) for r in _rows(out)} if out.exists() else set()
    with out.open("a", encoding="utf-8") as f:
        for row in rows:
            if (row["id"], row["run"]) in done:
                continue
            today = dt.date.fromisoformat(row["as_of"])
            replies = [llm.invoke(fill_prompt(template, today=today, question=row["question"],
                                              passages=[replace(_passage(p), text=text)]))
                       for p, text in zip(row["passages"], row["read"])]
            f.write(json.dumps(dict(row, replies=replies)) + "\n")
            f.flush()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _first(row: dict, k: int) -> dict:
    """``row`` as if only its first ``k`` passages had been retrieved."""
    return dict(row, **{key: row[key][:k] for key in ("passages", "read", "replies")})


def replay_row(row: dict, *, rule: ReadingRule, min_support: float,
               date_check: bool = True) -> tuple[str, bool, int]:
    """What the chain answers from the kept replies: (text, refused, model calls)."""
    passages = [_passage(p) for p in row["passages"]]
    reference = dt.date.fromisoformat(row["reference"])
    window = _window(row) if date_check else None
    order = [i for i in reading_order(passages, reference, rule.days)
             if worth_reading(row["question"], passages[i], min_support=min_support, window=window)]
    if not order:
        return REFUSAL, True, 0
    readings = read_in_turn([(i + 1, passages[i]) for i in order],
                            lambda n: row["replies"][n - 1], row["question"],
                            reference=reference, rule=rule)
    text, _, refused, *_ = choose(readings, row["question"], passages, reference=reference,
                                  rule=rule)
    return text, refused, len(readings)


def replay(rows: list[dict], *, rule: ReadingRule, min_support: float) -> dict:
    normal, absent, calls = [], [], []
    for row in rows:
        text, refused, n = replay_row(row, rule=rule, min_support=min_support)
        calls.append(n)
        (normal if row["run"] == "normal" else absent).append(
            (answer_correct(text, row["gold"]), refused))
    share = lambda flags: round(sum(flags) / len(flags), 3) if flags else None  # noqa: E731
    return {
        "questions": len(normal), **asdict(rule), "min_support": min_support,
        "accuracy": share([c for c, _ in normal]),
        "false_refusal": share([r for _, r in normal]),
        "refusal_when_absent": share([r and not c for c, r in absent]),
        "absent_still_correct": share([c for c, _ in absent]),
        "calls_mean": round(statistics.fmean(calls), 2) if calls else None,
        "reply_right_where_shown": _reply_right_where_shown(rows),
    }


def _reply_right_where_shown(rows: list[dict]) -> float | None:
    """How well the model reads, whatever the rule: of the passages whose words shown hold
    the gold answer (normal runs), the share whose reply gives it."""
    hits = [answer_correct(reply, row["gold"])
            for row in rows if row["run"] == "normal"
            for text, reply in zip(row["read"], row["replies"])
            if answer_correct(text, row["gold"])]
    return round(sum(hits) / len(hits), 3) if hits else None


def main() -> None:
    from assistant.settings import Settings

    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("folder", type=Path)
    gen.add_argument("out", type=Path)
    gen.add_argument("--reuse", type=Path,
                     help="rows of an earlier generate: their replies to the same words of "
                          "the same passage are not asked for again")
    again = sub.add_parser("reread")
    again.add_argument("rows", type=Path)
    again.add_argument("out", type=Path)
    again.add_argument("--prompts", type=Path, required=True,
                       help="a folder with read_system.md and read_user.md")
    rep = sub.add_parser("replay")
    rep.add_argument("rows", type=Path)
    for p in (again, rep):
        p.add_argument("--folder", type=Path, default=Path("../shared/newsqa-2025"),
                       help="the evaluation set, for --limit and --rest")
    rep.add_argument("--days", type=float, default=defaults.reading_recency_days)
    rep.add_argument("--min-weight", type=float, default=defaults.reading_min_weight)
    rep.add_argument("--min-sources", type=int, default=defaults.reading_min_sources)
    rep.add_argument("--headline", type=float, default=defaults.reading_headline)
    rep.add_argument("--nearness", type=float, default=defaults.reading_nearness)
    rep.add_argument("--min-support", type=float, default=defaults.min_support)
    rep.add_argument("--top", type=int, help="only each run's first TOP passages count")
    for p in (gen, again, rep):
        p.add_argument("--limit", type=int)
        p.add_argument("--rest", action="store_true",
                       help="the questions --limit leaves out (the check of a study part)")
    args = parser.parse_args()
    if getattr(args, "top", None) is not None and args.top < 1:
        parser.error("--top counts passages: give 1 or more")
    if args.command == "generate":
        generate(args.folder, args.out, args.limit, args.rest, args.reuse)
        return
    rows = _rows(args.rows)
    if args.limit:
        ids = {q["id"] for q in _questions(args.folder, args.limit, args.rest)}
        rows = [r for r in rows if r["id"] in ids]
    if args.command == "reread":
        from assistant import Assistant
        from assistant.prompts import reading_prompt

        reread(rows, args.out, Assistant(defaults).llm, reading_prompt(args.prompts))
        return
    if args.top is not None:
        rows = [_first(row, args.top) for row in rows]
    rule = ReadingRule(args.days, args.min_weight, args.min_sources, args.headline,
                       args.nearness)
    print(json.dumps(replay(rows, rule=rule, min_support=args.min_support)))


if __name__ == "__main__":
    main()
