"""The load test's check would catch an answer given to the wrong client."""

from benchmarks.load_test import same_reply

ALONE = {"question": "Q1", "answer": "A1 [1]", "sources": [{"chunk_id": "a:content:0"},
                                                            {"chunk_id": "b:content:0"}]}


def test_the_same_reply_passes_even_if_lower_ranks_moved():
    moved = {**ALONE, "sources": [{"chunk_id": "a:content:0"}, {"chunk_id": "new:content:0"}]}
    assert same_reply(moved, ALONE, "Q1", exact_text=True)


def test_a_reply_to_another_question_is_caught():
    assert not same_reply({**ALONE, "question": "Q2"}, ALONE, "Q1", exact_text=False)
    other = {**ALONE, "sources": [{"chunk_id": "c:content:0"}]}
    assert not same_reply(other, ALONE, "Q1", exact_text=False)


def test_text_counts_only_where_it_is_deterministic():
    reworded = {**ALONE, "answer": "A one [1]"}
    assert not same_reply(reworded, ALONE, "Q1", exact_text=True)
    assert same_reply(reworded, ALONE, "Q1", exact_text=False)
    assert not same_reply({**ALONE, "answer": ""}, ALONE, "Q1", exact_text=False)
