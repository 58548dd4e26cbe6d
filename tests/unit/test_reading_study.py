"""benchmarks/reading_study.py: a rule judged on kept replies must be judged on what the
chain itself would have answered from them."""

import datetime as dt

import pytest

from assistant.testing import ScriptedLLM
from assistant.types import Filters
from benchmarks.reading_study import record, replay, replay_row

SEED_ID = "0db93cbb78d26b32"


def _from_prompt(prompt: str) -> str:
    if "55 billion" in prompt:
        return "Up to 55 billion cubic metres a year [1]."
    if "Iran" in prompt:
        return "Iran [1]."  # the question's own word: no answer
    return "The articles don't say."


QUESTION = {"id": "q1", "question": "How much gas could Russia supply to Iran per year?",
            "question_date": "2025-02-01", "answer": "55 billion", "answer_in": [SEED_ID]}


@pytest.mark.parametrize("run", ["normal", "absent"])
def test_replay_answers_what_the_chain_answers_from_the_same_replies(make_assistant, corpus, run):
    llm = ScriptedLLM([_from_prompt])
    a = make_assistant(llm=llm, reading="each")
    a.ingest([corpus])
    row = record(a, QUESTION, run)
    assert len(row["replies"]) == len(row["passages"]) == len(llm.prompts)  # every one read
    before = len(llm.prompts)
    filters = Filters(exclude_articles=(SEED_ID,)) if run == "absent" else Filters()
    got = a.answer(QUESTION["question"], as_of=dt.date(2025, 2, 1), filters=filters)
    s = a.settings
    text, refused, calls = replay_row(row, days=s.reading_recency_days,
                                      min_weight=s.reading_min_weight,
                                      min_sources=s.reading_min_sources, min_support=s.min_support)
    assert (text, refused) == (got.text, got.refused)
    assert calls == len(llm.prompts) - before
    assert refused == (run == "absent")


def test_replay_scores_as_the_evaluation_does(make_assistant, corpus):
    a = make_assistant(llm=ScriptedLLM([_from_prompt]), reading="each")
    a.ingest([corpus])
    rows = [record(a, QUESTION, "normal"), record(a, QUESTION, "absent")]
    got = replay(rows, days=90.0, min_weight=0.1, min_sources=0, min_support=0.4)
    assert got["questions"] == 1 and got["accuracy"] == 1.0 and got["false_refusal"] == 0.0
    assert got["refusal_when_absent"] == 1.0 and got["absent_still_correct"] == 0.0
