"""Each passage read alone (assistant/reading.py) and the chain's ``reading="each"``."""

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.checks import REFUSAL
from assistant.prompts import load_template
from assistant.reading import (
    Reading,
    ReadingRule,
    choose,
    near_question,
    read_in_turn,
    reading_order,
    recency_weight,
    settled,
    worth_reading,
)
from assistant.testing import ScriptedLLM
from assistant.types import Answer, DateWindow, Passage

TODAY = dt.date(2025, 3, 1)
QUESTION = "Which country did the storm hit first?"


def _passage(i: int, text: str, published: dt.date | None = TODAY) -> Passage:
    return Passage(f"a{i}:content:0", f"a{i}", text, f"Storm report {i}", f"https://x.test/{i}",
                   "x.test", published, score=1.0 / i)


def _choose(readings, min_weight=0.1, min_sources=0, headline=0.0, nearness=0.0):
    shown = [r.passage for r in sorted(readings, key=lambda r: r.n)]
    return choose(readings, QUESTION, shown, reference=TODAY,
                  rule=ReadingRule(90, min_weight, min_sources, headline, nearness))


def _articles(tmp_path, stories) -> Path:
    """A folder of one article per (title, published day, text), at https://x.test/<i>."""
    folder = tmp_path / "storms"
    folder.mkdir()
    for i, (title, day, text) in enumerate(stories):
        (folder / f"{i}.txt").write_text(
            f"<TITLE>{title}</TITLE><PUBLISHED_DATE>{day}</PUBLISHED_DATE>"
            f"<URL>https://x.test/{i}</URL><CONTENT>{text}</CONTENT>")
    return folder


def _chain_answer(make_assistant, folder, reply, **settings) -> Answer:
    """QUESTION asked of the chain (reading=each) over ``folder`` on 2025-02-12, the model
    replying ``reply(prompt)``."""
    a = make_assistant(llm=ScriptedLLM([reply]), reading="each", **settings)
    a.ingest([folder])
    return a.answer(QUESTION, as_of=dt.date(2025, 2, 12))


def test_recency_weight_falls_by_e_every_period_and_never_rewards_the_future():
    assert recency_weight(TODAY, TODAY, 90) == 1.0
    assert recency_weight(TODAY - dt.timedelta(days=90), TODAY, 90) == pytest.approx(1 / math.e)
    assert recency_weight(TODAY + dt.timedelta(days=9), TODAY, 90) == 1.0
    assert recency_weight(None, TODAY, 90) == pytest.approx(math.exp(-365 / 90))


def test_passages_are_read_most_recent_first_the_better_rank_first_among_equals():
    passages = [_passage(1, "a", TODAY - dt.timedelta(days=40)), _passage(2, "b", TODAY),
                _passage(3, "c", None), _passage(4, "d", TODAY)]
    assert reading_order(passages, TODAY, 90) == [1, 3, 0, 2]


def test_a_passage_about_something_else_or_too_old_for_the_window_is_not_read():
    about = _passage(1, "The storm hit Portugal first, then the country of Spain.")
    other = _passage(2, "Bakeries raised bread prices again.")
    assert worth_reading(QUESTION, about, min_support=0.4, window=None)
    assert not worth_reading(QUESTION, other, min_support=0.4, window=None)
    week = DateWindow(TODAY - dt.timedelta(days=7), TODAY)
    old = _passage(3, about.text, TODAY - dt.timedelta(days=30))
    assert not worth_reading(QUESTION, old, min_support=0.4, window=week)
    assert worth_reading(QUESTION, old, min_support=0.4, window=None)


def test_the_answer_two_sources_agree_on_wins_and_cites_both():
    readings = [
        Reading(1, _passage(1, "The storm hit Spain first, officials said."), "Spain [1]."),
        Reading(2, _passage(2, "Forecasters say the storm hit Portugal first."), "Portugal."),
        Reading(3, _passage(3, "It hit Spain first and then moved north."), "It hit Spain first."),
    ]
    got = _choose(readings)
    assert got.text == "Spain [1][3]." and not got.refused
    assert [c.n for c in got.citations] == [1, 3]
    assert got.citations[1].url == "https://x.test/3"


def test_the_chosen_answer_is_given_as_its_passage_writes_it():
    brava = Reading(1, _passage(1, "The storm hit Spain's Costa Brava first."), "Costa Brava")
    ruiz = Reading(1, _passage(1, "Coach Ana Ruiz said the storm hit Vigo first."), "Ruiz.")
    assert _choose([brava]).text == "Spain's Costa Brava [1]"
    assert _choose([ruiz]).text == "Coach Ana Ruiz [1]."


def test_a_recent_source_outweighs_two_old_ones():
    old = TODAY - dt.timedelta(days=400)
    readings = [
        Reading(1, _passage(1, "The storm hit Spain first.", old), "Spain."),
        Reading(2, _passage(2, "The storm hit Spain first, again.", old), "Spain."),
        Reading(3, _passage(3, "This year the storm hit Portugal first."), "Portugal."),
    ]
    got = _choose(readings)
    assert got.text == "Portugal [3]."


def test_an_answer_its_source_headlines_counts_for_more():
    spain = _passage(1, "The storm hit Spain first, officials said.")
    portugal = replace(_passage(2, "Forecasters say the storm hit Portugal first."),
                       title="Storm makes landfall in Portugal")
    readings = [Reading(1, spain, "Spain."), Reading(2, portugal, "Portugal.")]
    assert _choose(readings).text == "Spain [1]."  # equals: the better rank
    assert _choose(readings, headline=1.0).text == "Portugal [2]."
    # Only for the headline of the reply's own source.
    under_other = [Reading(1, replace(spain, title=portugal.title), "Spain."),
                   Reading(2, replace(portugal, title="Storm report 2"), "Portugal.")]
    assert _choose(under_other, headline=1.0).text == "Spain [1]."
    # It decides which answer, not whether to answer: an old source stays too old.
    old = replace(portugal, published=TODAY - dt.timedelta(days=250))  # 0.06, twice 0.12
    assert _choose([Reading(2, old, "Portugal.")], headline=1.0).refused


def test_nearness_is_the_share_of_the_question_words_beside_the_answer():
    stems = frozenset({"portu"})
    # "storm" and "first" in the answer's sentence; "country" and "hit" nowhere.
    beside = _passage(1, "Rain fell. The storm reached Portugal first. Crews left.")
    assert near_question(QUESTION, beside, stems) == 0.5
    # The sentence either side counts; two sentences away does not.
    after = _passage(2, "The storm hit first at dawn. Portugal was ready. Rain. Wind.")
    assert near_question(QUESTION, after, stems) == 0.75
    apart = _passage(3, "The storm hit first at dawn. Rain. Wind. Portugal was ready.")
    assert near_question(QUESTION, apart, stems) == 0.0
    assert near_question(QUESTION, beside, frozenset({"spain"})) == 0.0  # not in it
    assert near_question("Where?", beside, stems) == 1.0  # nothing to compare


def test_an_answer_beside_the_question_words_counts_for_more():
    aside = _passage(1, "Spain sent aid. Trucks left. Crews packed. The storm hit Portugal first.")
    readings = [Reading(1, aside, "Spain."),
                Reading(2, _passage(2, "The storm hit Portugal first on Monday."), "Portugal.")]
    # Equal recency, and the better rank wins without nearness.
    assert _choose(readings).text == "Spain [1]."
    assert _choose(readings, nearness=0.5).text == "Portugal [2]."
    # It decides which answer, not whether to answer.
    old = replace(readings[1].passage, published=TODAY - dt.timedelta(days=250))
    assert _choose([Reading(2, old, "Portugal.")], nearness=0.5).refused


@pytest.mark.parametrize("reply", [
    "The articles don't say.",
    "Which country did the storm hit first? [1]",  # the question said back
    "France [1].",  # a name the passage does not hold
    "",
])
def test_a_reply_that_answers_nothing_from_its_passage_is_no_answer(reply):
    readings = [Reading(1, _passage(1, "The storm hit Spain first."), reply)]
    assert _choose(readings) == (REFUSAL, (), True, False, 0.0)


def test_an_answer_from_old_sources_only_is_refused():
    old = TODAY - dt.timedelta(days=500)
    readings = [Reading(1, _passage(1, "The storm hit Spain first.", old), "Spain.")]
    assert _choose(readings).refused
    assert not _choose(readings, min_weight=0.0).refused


def test_an_old_answer_passes_when_enough_distinct_articles_give_it():
    old = TODAY - dt.timedelta(days=500)
    spain = [Reading(n, _passage(n, "The storm hit Spain first.", old), "Spain.") for n in (1, 2)]
    portugal = Reading(3, _passage(3, "The storm hit Portugal first.", old), "Portugal.")
    assert _choose(spain + [portugal], min_sources=0).refused
    got = _choose(spain + [portugal], min_sources=2)
    assert got.text == "Spain [1][2]." and not got.refused
    assert _choose(spain + [portugal], min_sources=3).refused
    # Two chunks of one article are one source, not two.
    same = Reading(2, Passage("a1:content:1", "a1", "Spain again.", "Storm report 1",
                              "https://x.test/1", "x.test", old), "Spain.")
    assert _choose([spain[0], same], min_sources=2).refused


def test_an_old_pair_never_outweighs_a_recent_answer():
    old = TODAY - dt.timedelta(days=500)
    spain = [Reading(n, _passage(n, "The storm hit Spain first.", old), "Spain.") for n in (1, 2)]
    recent = Reading(3, _passage(3, "This year the storm hit Portugal first."), "Portugal.")
    assert _choose(spain + [recent], min_sources=2).text == "Portugal [3]."


def test_reading_stops_once_the_unread_passages_could_not_change_the_answer():
    spain = [Reading(1, _passage(1, "The storm hit Spain first."), "Spain.")]
    kwargs = {"reference": TODAY, "rule": ReadingRule(90, 0.1, 0)}
    assert settled(spain, [0.5], QUESTION, **kwargs)  # 1 against at most 0.5
    assert not settled(spain, [0.75, 0.75], QUESTION, **kwargs)  # two more could outvote it
    # An unread passage could hold an answer its headline gives: it may count double.
    assert not settled(spain, [0.75], QUESTION, reference=TODAY,
                       rule=ReadingRule(90, 0.1, 0, headline=1.0))
    nothing = [Reading(1, _passage(1, "The storm hit Spain first."), "The articles don't say.")]
    assert settled(nothing, [0.05], QUESTION, **kwargs)  # too little left to reach 0.1
    assert not settled(nothing, [0.5], QUESTION, **kwargs)


def test_an_old_answer_is_not_refused_while_another_article_could_still_agree():
    old = TODAY - dt.timedelta(days=500)
    spain = [Reading(1, _passage(1, "The storm hit Spain first.", old), "Spain.")]
    weak = [0.001]  # far too little weight to reach 0.1 by itself

    def rule(min_sources):
        return {"reference": TODAY, "rule": ReadingRule(90, 0.1, min_sources)}

    assert settled(spain, weak, QUESTION, **rule(0))
    assert not settled(spain, weak, QUESTION, **rule(2))
    assert settled(spain, [], QUESTION, **rule(2))
    assert settled(spain, weak, QUESTION, **rule(3))  # 2 at most of 3
    second = Reading(2, _passage(2, "Spain was hit first.", old), "Spain.")
    assert settled(spain + [second], weak, QUESTION, **rule(2))  # it passes


def test_passages_are_read_in_turn_until_the_rest_could_not_change_the_answer():
    replies = {1: "Spain.", 2: "Spain [2].", 3: "Spain.", 4: "Portugal."}
    asked = []

    def reply_to(n):
        asked.append(n)
        return replies[n]

    passages = [(n, _passage(n, "The storm hit Spain first, or Portugal.")) for n in (1, 2, 3, 4)]
    kwargs = {"reference": TODAY, "rule": ReadingRule(90, 0.1, 0)}
    got = read_in_turn(passages, reply_to, QUESTION, **kwargs)
    # Two agreeing replies could still be outvoted by the two left; three cannot by one.
    assert asked == [1, 2, 3] and [r.n for r in got] == [1, 2, 3]
    assert got[1] == Reading(2, passages[1][1], "Spain [2].")
    assert read_in_turn([], reply_to, QUESTION, **kwargs) == []


AS_OF = dt.date(2025, 2, 1)


def _from_prompt(prompt: str) -> str:
    """Answers from the one passage it is shown, as the bundled model is asked to."""
    if "55 billion" in prompt:
        return "Up to 55 billion cubic metres a year [1]."
    return "The articles don't say."


def test_each_passage_is_read_alone_and_the_answer_cites_its_article(make_assistant, corpus):
    llm = ScriptedLLM([_from_prompt])
    a = make_assistant(llm=llm, reading="each")
    a.ingest([corpus])
    pieces = list(a.stream_answer("How much gas could Russia supply to Iran per year?",
                                  as_of=AS_OF))
    got = pieces[-1]
    assert isinstance(got, Answer) and pieces[:-1] == [got.text]
    assert "55 billion" in got.text and not got.refused
    assert {c.article_id for c in got.citations} == {"0db93cbb78d26b32"}
    assert 1 <= len(llm.prompts) <= len(got.passages)
    for prompt in llm.prompts:  # one passage per prompt, numbered [1]; the answer's words asked
        assert "[1] " in prompt and "[2] " not in prompt
        assert load_template("read_system").template.splitlines()[0] in prompt
        assert "Answer, in a few words from the passage:" in prompt
    assert got.timings["first_token_s"] <= got.timings["total_s"]


def test_each_reading_refuses_without_asking_when_no_passage_is_worth_reading(
    make_assistant, corpus
):
    llm = ScriptedLLM(["Oman [1]."])
    a = make_assistant(llm=llm, reading="each", min_support=1.0)
    a.ingest([corpus])
    got = a.answer("Which bakery in Lisbon won the pastry prize this spring?", as_of=AS_OF)
    assert got.refused and got.text == REFUSAL and llm.prompts == []


def test_a_collection_of_old_news_is_read_as_of_its_own_last_day(make_assistant, corpus):
    # Asked long after the newest article (2025-02-12): its sources are not all "too old".
    a = make_assistant(llm=ScriptedLLM([_from_prompt]), reading="each")
    a.ingest([corpus])
    assert a.store.latest_published(dt.date(2026, 12, 3)) == dt.date(2025, 2, 12)
    assert a.store.latest_published(dt.date(2025, 1, 20)) == dt.date(2025, 1, 17)
    assert a.store.latest_published(dt.date(2000, 1, 1)) is None
    got = a.answer("How much gas could Russia supply to Iran per year?",
                   as_of=dt.date(2026, 12, 3))
    assert "55 billion" in got.text and not got.refused


def test_the_chain_keeps_an_old_answer_two_articles_give_unless_told_not_to(
    make_assistant, tmp_path
):
    folder = _articles(tmp_path, [
        ("Report 0", "2023-06-01", "The storm hit Spain first, officials said."),
        ("Report 1", "2023-06-02", "Forecasters confirmed the storm hit Spain first."),
        ("Report 2", "2025-02-10", "Bakeries in Lisbon raised bread prices again.")])
    for min_sources, refused in ((0, True), (2, False), (None, False)):  # None: the default
        told = {} if min_sources is None else {"reading_min_sources": min_sources}
        got = _chain_answer(
            make_assistant, folder,
            lambda p: "Spain." if "Spain" in p else "The articles don't say.", **told)
        assert got.refused is refused
        if not refused:
            assert "Spain" in got.text
            assert {c.url for c in got.citations} == {"https://x.test/0", "https://x.test/1"}


def test_the_chain_prefers_the_answer_a_headline_gives_unless_told_not_to(
    make_assistant, tmp_path
):
    # Same day; the first matches the question better, the second headlines its answer.
    folder = _articles(tmp_path, [
        ("Storm report", "2025-02-10",
         "Which country did the storm hit first? Spain, officials said the storm hit first."),
        ("Storm hits Portugal", "2025-02-10",
         "Forecasters say the storm hit Portugal before anywhere else.")])
    for headline, country in ((0.0, "Spain"), (None, "Portugal")):  # None: the default
        told = {} if headline is None else {"reading_headline": headline}
        got = _chain_answer(make_assistant, folder,
                            lambda p: "Spain." if "Spain" in p else "Portugal.", **told)
        assert got.passages[0].url == "https://x.test/0"  # Spain ranks first
        assert country in got.text and not got.refused


def test_the_chain_prefers_the_answer_beside_the_question_unless_told_not_to(
    make_assistant, tmp_path
):
    # Same day, neither headline names a country; the first matches the question better,
    # but names its country sentences away from the storm.
    folder = _articles(tmp_path, [
        ("Storm report", "2025-02-10",
         ("Which country did the storm hit first? The storm hit first overnight. "
          "Officials met. Roads closed. Schools shut. Spain sent aid.")),
        ("Storm report", "2025-02-10", "Forecasters say the storm hit Portugal first.")])
    for nearness, country in ((0.0, "Spain"), (None, "Portugal")):  # None: the default
        told = {} if nearness is None else {"reading_nearness": nearness}
        got = _chain_answer(make_assistant, folder,
                            lambda p: "Spain." if "Spain" in p else "Portugal.", **told)
        assert got.passages[0].url == "https://x.test/0"  # Spain ranks first
        assert country in got.text and not got.refused
