"""The conversation store: SQLite-backed, survives a restart, safe across threads."""

from __future__ import annotations

import threading

import pytest

from assistant.conversations import TITLE_CHARS, ConversationStore

CITATION = {
    "n": 1,
    "title": "Russia and Iran move to strengthen military ties",
    "url": "https://www.bbc.com/news/articles/c87dd4n4jd0o",
    "outlet": "bbc.com",
    "published_date": "2025-01-17",
    "passage": "Russia could supply up to 55 billion cubic metres of gas a year.",
    "score": 0.8,
}


@pytest.fixture
def store(tmp_path):
    s = ConversationStore(tmp_path / "conversations.sqlite")
    yield s
    s.close()


def test_a_conversation_keeps_its_turns_in_order_with_citations_and_meta(store):
    cid = store.create("How much gas could Russia supply to Iran?")
    store.append(cid, "How much gas?", "Up to 55 bcm a year [1].", [CITATION],
                 {"timings": {"total_s": 1.5}})
    store.append(cid, "Through which country?", "Azerbaijan [1].", [CITATION])

    loaded = store.load(cid)
    assert loaded is not None
    assert loaded.title == "How much gas could Russia supply to Iran?"
    assert [t.question for t in loaded.turns] == ["How much gas?", "Through which country?"]
    assert loaded.turns[0].citations == (CITATION,)
    assert loaded.turns[0].meta == {"timings": {"total_s": 1.5}}
    assert loaded.turns[1].meta is None
    assert loaded.history == [("How much gas?", "Up to 55 bcm a year [1]."),
                              ("Through which country?", "Azerbaijan [1].")]


def test_conversations_survive_reopening_the_file(tmp_path):
    path = tmp_path / "conversations.sqlite"
    first = ConversationStore(path)
    cid = first.create("What did the treaty cover?")
    first.append(cid, "What did the treaty cover?", "Defence and trade [1].", [CITATION])
    first.close()

    again = ConversationStore(path)
    try:
        assert [c.id for c in again.recent()] == [cid]
        assert again.load(cid).turns[0].answer == "Defence and trade [1]."
    finally:
        again.close()


def test_recent_lists_the_latest_activity_first_and_skips_empty_ones(store):
    older = store.create("first")
    store.append(older, "first", "a")
    newer = store.create("second")
    store.append(newer, "second", "b")
    store.create("never asked")
    assert [c.id for c in store.recent()] == [newer, older]

    store.append(older, "follow-up", "c")  # activity moves it to the top
    recent = store.recent()
    assert [c.id for c in recent] == [older, newer]
    assert recent[0].turns == 2
    assert [c.id for c in store.recent(limit=1)] == [older]


def test_titles_are_one_short_line(store):
    cid = store.create("line one\n\nline   two " + "x" * 200)
    title = store.load(cid).title
    assert "\n" not in title and "  " not in title
    assert len(title) == TITLE_CHARS and title.endswith("…")
    assert title.startswith("line one line two")


def test_unknown_conversations(store):
    assert store.load("nope") is None
    with pytest.raises(KeyError):
        store.append("nope", "q", "a")


def test_appends_from_many_threads_all_land_once(store):
    cid = store.create("busy")
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            for j in range(5):
                store.append(cid, f"q{i}-{j}", f"a{i}-{j}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    questions = [t.question for t in store.load(cid).turns]
    assert sorted(questions) == sorted(f"q{i}-{j}" for i in range(8) for j in range(5))
