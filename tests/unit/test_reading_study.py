"""benchmarks/reading_study.py: a rule judged on kept replies must be judged on what the
chain itself would have answered from them."""

import datetime as dt
import json

import pytest

from assistant.prompts import reading_prompt
from assistant.reading import ReadingRule
from assistant.testing import ScriptedLLM
from assistant.types import Filters
from benchmarks.reading_study import _first, _replies_by_run, record, replay, replay_row, reread

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
    text, refused, calls = replay_row(row, rule=ReadingRule.from_settings(a.settings),
                                      min_support=a.settings.min_support)
    assert (text, refused) == (got.text, got.refused)
    assert calls == len(llm.prompts) - before
    assert refused == (run == "absent")


def test_replay_scores_as_the_evaluation_does(make_assistant, corpus):
    a = make_assistant(llm=ScriptedLLM([_from_prompt]), reading="each")
    a.ingest([corpus])
    rows = [record(a, QUESTION, "normal"), record(a, QUESTION, "absent")]
    got = replay(rows, rule=ReadingRule(90.0, 0.1, 0), min_support=0.4)
    assert got["questions"] == 1 and got["accuracy"] == 1.0 and got["false_refusal"] == 0.0
    assert got["refusal_when_absent"] == 1.0 and got["absent_still_correct"] == 0.0
    assert got["reply_right_where_shown"] == 1.0  # every passage shown "55 billion" said it
    rows[0]["replies"] = ["Iran."] * len(rows[0]["replies"])
    assert replay(rows, rule=ReadingRule(90.0, 0.1, 0), min_support=0.4)[
        "reply_right_where_shown"] == 0.0


def test_reread_asks_again_about_the_kept_passages_with_another_prompt(
    make_assistant, corpus, tmp_path
):
    a = make_assistant(llm=ScriptedLLM([_from_prompt]), reading="each")
    a.ingest([corpus])
    row = record(a, QUESTION, "normal")
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "read_system.md").write_text("Answer in capitals.\n")
    (folder / "read_user.md").write_text("{today} | {question} | {passages}\n")
    llm = ScriptedLLM([lambda p: "55 BILLION" if "Answer in capitals" in p else "no"])
    out = tmp_path / "again.jsonl"
    reread([row], out, llm, reading_prompt(folder))
    reread([row], out, llm, reading_prompt(folder))  # done already: not asked again
    (again,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(llm.prompts) == len(row["passages"])
    assert again["replies"] == ["55 BILLION"] * len(row["passages"])
    kept = json.loads(json.dumps(row))  # as stored: tuples come back as lists
    assert {k: v for k, v in again.items() if k != "replies"} == {
        k: v for k, v in kept.items() if k != "replies"}
    # What the model reads is the kept words of each passage, as the chain showed them.
    assert all(text in prompt for text, prompt in zip(row["read"], llm.prompts))
    assert all(QUESTION["question"] in prompt for prompt in llm.prompts)


def test_record_takes_kept_replies_to_the_same_words_of_the_same_passage(make_assistant, corpus):
    llm = ScriptedLLM([_from_prompt])
    a = make_assistant(llm=llm, reading="each")
    a.ingest([corpus])
    row = json.loads(json.dumps(record(a, QUESTION, "normal")))  # as stored
    asked = len(llm.prompts)
    kept = _replies_by_run([dict(row, replies=["kept"] * len(row["replies"]))])
    again = record(a, QUESTION, "normal", known=kept[("q1", "normal")])
    assert len(llm.prompts) == asked and again["replies"] == ["kept"] * len(row["replies"])
    # Other words of a passage are another prompt: the model is asked again.
    row["read"][0] += " more words"
    kept = _replies_by_run([dict(row, replies=["kept"] * len(row["replies"]))])
    again = record(a, QUESTION, "normal", known=kept[("q1", "normal")])
    assert len(llm.prompts) == asked + 1
    assert again["replies"][0] != "kept" and again["replies"][1:] == ["kept"] * (len(row["replies"]) - 1)


def test_first_k_passages_are_a_run_retrieved_less_deep(make_assistant, corpus):
    a = make_assistant(llm=ScriptedLLM([_from_prompt]), reading="each")
    a.ingest([corpus])
    row = record(a, QUESTION, "normal")
    assert len(row["passages"]) > 1
    top = _first(row, 1)
    assert [len(top[k]) for k in ("passages", "read", "replies")] == [1, 1, 1]
    assert top["replies"] == row["replies"][:1] and len(row["replies"]) > 1  # row unchanged
