import datetime as dt

from assistant.evidence import focus_passages
from assistant.testing import ScriptedLLM

FILLER = " ".join(f"Sentence {i} is about the weather in the hills." for i in range(12))
PIPELINE = ("A gas pipeline to Iran is being negotiated. "
            "It could carry 55 billion cubic metres a year. ")
STORY = f"{FILLER} {PIPELINE}{FILLER}"


def test_text_within_budget_or_a_zero_budget_comes_back_whole():
    assert focus_passages(["Short text. Two sentences."], "anything", 60) == ["Short text. Two sentences."]
    assert focus_passages([STORY], "pipeline to Iran", 0) == [STORY]


def test_the_question_sentence_and_the_next_one_are_kept_in_order():
    [got] = focus_passages([STORY], "How much gas could the Iran pipeline carry?", 20)
    assert got == "... A gas pipeline to Iran is being negotiated. It could carry 55 billion cubic metres a year. ..."


def test_words_in_every_passage_count_less_than_rare_ones():
    # "iran" is in every sentence, "drones" in one: the drone sentence wins the budget.
    texts = [" ".join(f"Iran item {i} was reported today." for i in range(10))
             + " Iran sent drones to Russia last year."]
    [got] = focus_passages(texts, "What did Iran send to Russia? drones", 12)
    assert "drones" in got and got.startswith("...")
    assert len(got.split()) <= 2 * 12 + 1


def test_a_passage_sharing_no_word_with_the_question_shows_its_lede():
    [got] = focus_passages([STORY], "Who won the chess championship?", 20)
    assert got.startswith("Sentence 0 is about") and got.endswith("...")
    assert len(got.split()) <= 21


def test_the_gap_between_joined_chunks_is_a_gap_not_a_sentence():
    # One source per article joins chunks that do not touch with "...": reading it must
    # show one gap where text is left out, never "... ... ...".
    joined = f"{FILLER} ... {PIPELINE}... {FILLER}"
    [got] = focus_passages([joined], "How much gas could the Iran pipeline carry?", 20)
    assert got == "... A gas pipeline to Iran is being negotiated. It could carry 55 billion cubic metres a year. ..."
    [tail] = focus_passages([f"{FILLER} ... {PIPELINE}"], "How much gas could the Iran pipeline carry?", 20)
    assert tail == "... A gas pipeline to Iran is being negotiated. It could carry 55 billion cubic metres a year."


def test_an_overlong_sentence_is_cut_at_twice_the_budget():
    run_on = "pipeline " + "and more words " * 100 + "."
    [got] = focus_passages([run_on + " Other."], "pipeline", 10)
    assert got.split()[0] == "pipeline" and len(got.split()) == 21 and got.endswith("...")


def test_the_model_reads_the_focused_passage_while_citations_keep_it_whole(make_assistant, tmp_path):
    (tmp_path / "a.txt").write_text(
        "<TITLE>Energy talks</TITLE><PUBLISHED_DATE>2025-01-20</PUBLISHED_DATE>"
        f"<URL>https://news.test/energy</URL><CONTENT>{STORY}</CONTENT>"
    )
    llm = ScriptedLLM(["55 billion cubic metres [1]."])
    a = make_assistant(llm=llm, passage_words=30)
    a.ingest([tmp_path / "a.txt"])
    got = a.answer("How much gas could the Iran pipeline carry?", as_of=dt.date(2025, 2, 1))
    assert "It could carry 55 billion cubic metres a year." in llm.prompts[0]
    assert "Sentence 3 is about" not in llm.prompts[0]
    assert "Sentence 3 is about" in got.citations[0].passage
