"""The web app's logic without a server: formatting, escaping, the chat handler, uploads.

Only ``test_build_app_*`` imports Gradio (to check the Blocks construct and the answering
event's concurrency limit); nothing here launches a server.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from pathlib import Path

import pytest

import app
from assistant import ui_format as fmt
from assistant.conversations import ConversationStore
from assistant.errors import (
    ContextOverflowError,
    EmptyIndexError,
    IndexError_,
    LLMError,
    LLMUnavailableError,
    QuestionError,
)
from assistant.testing import ScriptedLLM
from assistant.types import Answer, Citation, DateWindow, Filters, Passage

BBC = "https://www.bbc.com/news/articles/c87dd4n4jd0o"
HOSTILE = "<img src=x onerror=alert(1)>"
GAS_QUESTION = "How much gas could Russia supply to Iran per year?"


def source(n=1, title="Russia and Iran move to strengthen military ties", url=BBC,
           outlet="bbc.com", published="2025-01-17",
           passage="Russia is seeking to sell surplus gas, supplying up to 55 billion cubic "
                   "metres a year to Iran.", also=()):
    return {"n": n, "title": title, "url": url, "outlet": outlet, "published_date": published,
            "passage": passage, "score": 0.5, "also_reporting": [list(a) for a in also]}


# -- escaping ---------------------------------------------------------------------------------
def test_escape_text_neutralises_html():
    assert fmt.escape_text(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert fmt.escape_text('a "b" & \'c\'') == "a &quot;b&quot; &amp; &#x27;c&#x27;"


def test_escape_markdown_leaves_no_link_emphasis_or_html():
    out = fmt.escape_markdown("[click](http://evil.example) **bold** `code` $5 " + HOSTILE)
    assert "<" not in out and ">" not in out
    assert "](" not in out.replace("\\](", "").replace("\\]\\(", "")
    assert re.search(r"(?<!\\)[\[\]()*`$]", out) is None  # every special char escaped


@pytest.mark.parametrize("url, expected", [
    (BBC, BBC),
    ("http://example.org/a?b=1&c=2#d", "http://example.org/a?b=1&c=2#d"),
    ("javascript:alert(1)", ""),
    ("data:text/html,<script>", ""),
    ("//evil.example/x", ""),
    ("", ""),
    (None, ""),
])
def test_safe_url_keeps_only_http_links(url, expected):
    assert fmt.safe_url(url) == expected


def test_safe_url_encodes_what_could_end_a_link_or_attribute():
    url = fmt.safe_url('https://example.org/a b"c<d>(e)')
    assert url.startswith("https://example.org/")
    assert not set(' "<>()') & set(url)


# -- dates and filters -------------------------------------------------------------------------
def test_filters_from_the_controls():
    filters = fmt.build_filters(" 2025-01-01 ", "2025-01-31",
                                ["bbc.com", " cnn.com ", "bbc.com", ""])
    assert filters == Filters(since=dt.date(2025, 1, 1), until=dt.date(2025, 1, 31),
                              outlets=("bbc.com", "cnn.com"))
    assert fmt.build_filters("", None, None) == Filters()


def test_filters_refuse_bad_and_reversed_dates_with_a_hint():
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        fmt.build_filters("17/01/2025", "", [])
    with pytest.raises(QuestionError, match="reversed"):
        fmt.build_filters("2025-02-01", "2025-01-01", [])


def test_format_day():
    assert fmt.format_day(dt.date(2025, 1, 7)) == "7 Jan 2025"
    assert fmt.format_day("2025-01-17") == "17 Jan 2025"
    assert fmt.format_day(None) == "undated"


# -- highlighting ------------------------------------------------------------------------------
def test_query_terms_drop_stopwords_and_stem():
    terms = fmt.query_terms(GAS_QUESTION)
    assert "gas" in terms and "russia" in terms and "iran" in terms
    assert "suppl" in terms  # supply, supplies, supplying
    assert not {"how", "much", "could", "to", "per", "year"} & set(terms)


def test_highlight_marks_question_words_and_escapes_the_rest():
    passage = "Russia is <b>supplying</b> gas to Iran & Tehran; 55 or 550 billion."
    out = fmt.highlight(passage, fmt.query_terms("Russia supply gas 55 ran"))
    assert "<mark>Russia</mark>" in out
    assert "&lt;b&gt;<mark>supplying</mark>&lt;/b&gt;" in out
    assert "<mark>gas</mark>" in out and "&amp;" in out
    assert "<mark>55</mark>" in out and "<mark>550</mark>" not in out
    assert "Teh<mark>" not in out  # a term matches whole words or word starts only
    assert out.replace("<mark>", "").replace("</mark>", "") == fmt.escape_text(passage)


def test_highlight_without_terms_only_escapes():
    assert fmt.highlight(HOSTILE, []) == fmt.escape_text(HOSTILE)


def test_excerpt_shows_the_stretch_with_the_most_terms_from_its_sentence_start():
    text = ("Gas prices rose. " + "Filler words here. " * 60
            + "Then Russia offered Iran 55 billion cubic metres of gas. " + "More text. " * 80)
    out = fmt.excerpt(text, ["russia", "iran", "gas", "55"], width=300)
    assert "Then Russia offered Iran 55 billion cubic metres of gas." in out
    assert out.startswith("…Then Russia") and out.endswith("…")
    assert len(out) <= 302
    assert fmt.excerpt("short text", ["x"]) == "short text"
    assert fmt.excerpt(text, [], width=100).startswith("Gas prices rose.")


# -- answers and source cards ------------------------------------------------------------------
def test_answer_markers_link_to_their_articles():
    sources = [source(1), source(2, url="https://example.org/b", outlet="example.org",
                              published=None)]
    md = fmt.answer_markdown("Up to 55 bcm [1]. A pipeline [2][7]. Both [1, 2].", sources)
    assert f"[\\[1\\]]({BBC})" in md
    assert "[\\[2\\]](https://example.org/b)" in md
    assert "\\[7\\]" in md and "[\\[7\\]](" not in md  # no source 7: shown, not linked
    assert md.count(f"]({BBC})") == 2  # "[1, 2]" became two links
    assert "bbc.com, 17 Jan 2025" in md and "example.org, undated" in md


def test_answer_markdown_shows_model_markup_as_text():
    md = fmt.answer_markdown(f"See [this](javascript:alert(1)) {HOSTILE} [1]", [source(1)])
    assert "](javascript" not in md and "<img" not in md
    assert "\\[this\\]\\(javascript:alert\\(1\\)\\)" in md


def test_source_cards_escape_untrusted_titles_and_passages():
    html = fmt.source_cards(
        [source(1, title=HOSTILE, passage="gas <script>alert(1)</script> Iran")], GAS_QUESTION
    )
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<mark>gas</mark>" in html and "<mark>Iran</mark>" in html


def test_source_cards_show_number_title_link_outlet_date_passage():
    html = fmt.source_cards([source(2, also=[("Same story", "cnn.com", "https://cnn.com/x")]),
                             source(1, url="javascript:alert(1)")], GAS_QUESTION)
    assert html.index('id="source-1"') < html.index('id="source-2"')  # in marker order
    assert f'href="{BBC}"' in html
    assert "javascript:" not in html  # a non-http URL is not linked at all
    assert '<span class="source-n">2</span>' in html
    assert "bbc.com" in html and "17 Jan 2025" in html
    assert "<mark>suppl" in html  # "supplying" matched "supply"
    assert 'href="https://cnn.com/x"' in html and "Also reported by" in html


def test_long_passages_show_the_part_that_supports_the_answer_and_the_rest_on_demand():
    passage = "Opening remarks about gas. " * 40 + "Russia could supply 55 billion cubic metres."
    html = fmt.source_cards([source(1, passage=passage)], "How much gas could Russia supply?",
                            "Russia could supply 55 billion cubic metres [1].")
    shown = html.split("<details")[0]
    assert "55 billion cubic metres" in shown  # the answer's words chose the excerpt
    assert "<summary>Whole passage</summary>" in html
    assert html.count("Opening remarks") > shown.count("Opening remarks")


def test_no_sources_says_so():
    assert "No sources" in fmt.source_cards([], "anything")


def test_source_records_carry_citation_and_other_outlets():
    passage = Passage("c1", "a1", "text", "T", BBC, "bbc.com", dt.date(2025, 1, 17),
                      also_reporting=(("T2", "cnn.com", "https://cnn.com/x"),))
    answer = Answer("x [1]", citations=(Citation(1, "T", BBC, "bbc.com", dt.date(2025, 1, 17),
                                                 "text", 0.5, "a1"),), passages=(passage,))
    [record] = fmt.source_records(answer)
    assert record["url"] == BBC and record["published_date"] == "2025-01-17"
    assert record["also_reporting"] == [["T2", "cnn.com", "https://cnn.com/x"]]


def test_status_line_shows_window_outlets_and_timings():
    answer = Answer("x", date_window=DateWindow(dt.date(2025, 1, 10), dt.date(2025, 1, 17),
                                                "last week"),
                    timings={"retrieval_s": 0.12, "first_token_s": 0.9, "total_s": 2.34})
    line = fmt.status_line(fmt.answer_meta(answer, Filters(outlets=("bbc.com",))))
    assert "10 Jan 2025 – 17 Jan 2025 (last week)" in line
    assert "outlets: bbc.com" in line
    assert "answered in 2.3 s (search 0.1 s, first words 0.9 s)" in line
    assert "any date" in fmt.status_line(fmt.answer_meta(Answer("x")))
    since_only = fmt.answer_meta(Answer("x"), Filters(since=dt.date(2025, 1, 1)))
    assert "from 1 Jan 2025" in fmt.status_line(since_only)
    assert fmt.status_line(None) == ""


@pytest.mark.parametrize("error, expected", [
    (EmptyIndexError("the index is empty"), "assistant ingest PATH"),
    (QuestionError("the question is 2000 characters long; keep it under 1000"),
     "keep it under 1000"),
    (LLMUnavailableError("cannot reach the Ollama server at http://127.0.0.1:11434"),
     "not reachable"),
    (ContextOverflowError("does not fit"), "too long for the model"),
    (LLMError("the local model failed"), "failed while answering"),
    (IndexError_("cannot open the index"), "cannot open the index"),
])
def test_friendly_errors(error, expected):
    message = fmt.friendly_error(error)
    assert expected in message
    assert "Traceback" not in message


def test_unexpected_errors_do_not_leak_details():
    message = fmt.friendly_error(RuntimeError("/srv/secret/path exploded"))
    assert message == fmt.GENERIC_ERROR_MESSAGE
    assert "secret" not in message


def test_collection_summary_escapes_and_counts():
    html = fmt.collection_summary({"articles": 1200, "chunks": 4000,
                                   "first_published": "2024-11-21",
                                   "last_published": "2025-02-12",
                                   "outlets": {HOSTILE: 3, "bbc.com": 2, "": 1}}, top=2)
    assert "1,200" in html and "4,000" in html and "21 Nov 2024" in html
    assert "<img" not in html and "&lt;img" in html
    assert "and 1 more" in html
    assert "No articles" in fmt.collection_summary({"articles": 0, "outlets": {}})


def test_ingest_summary_lists_refusals_and_failures_by_file_name():
    text = fmt.ingest_summary(
        {"added": 2, "updated": 1, "unchanged": 0, "chunks": 9,
         "failed": [{"file": "/srv/data/uploads/bad.txt", "reason": "no <CONTENT> section"}]},
        refused=[("huge.txt", "over the limit")],
        warnings=[("x.jsonl:3", "no date")],
    )
    assert "Added 2" in text and "updated 1" in text and "failed 1" in text
    assert "/srv/data" not in text and "bad.txt" in text and "&lt;CONTENT&gt;" in text
    assert "huge.txt" in text and "over the limit" in text and "no date" in text


# -- the chat handler --------------------------------------------------------------------------
class RecordingAssistant:
    """Streams a fixed answer and records what it was asked with."""

    def __init__(self, pieces=("Up to ", "55 billion ", "cubic metres [1]."), error=None):
        self.pieces, self.error, self.calls = pieces, error, []

    def stream_answer(self, question, *, as_of=None, filters=None, history=None):
        self.calls.append({"question": question, "as_of": as_of, "filters": filters,
                           "history": list(history or [])})
        if self.error is not None:
            raise self.error
        yield from self.pieces
        passage = Passage("c1", "a1", "Russia could supply up to 55 billion cubic metres.",
                          "Russia and Iran", BBC, "bbc.com", dt.date(2025, 1, 17))
        yield Answer(
            "".join(self.pieces),
            citations=(Citation(1, passage.title, BBC, "bbc.com", passage.published,
                                passage.text, 0.9, "a1"),),
            passages=(passage,),
            date_window=DateWindow(None, dt.date(2025, 1, 31), ""),
            timings={"retrieval_s": 0.01, "first_token_s": 0.02, "total_s": 0.05},
        )


@pytest.fixture
def controller_for(settings, tmp_path):
    made = []

    def make(assistant):
        store = ConversationStore(tmp_path / "conv.sqlite")
        made.append(store)
        return app.ChatController(assistant, settings, store)

    yield make
    for s in made:
        s.close()


def test_ask_streams_text_then_the_formatted_answer_with_cards(controller_for):
    fake = RecordingAssistant()
    controller = controller_for(fake)
    views = list(controller.ask(GAS_QUESTION, app.Session()))

    assert views[0].messages[-1]["content"] == app.THINKING
    streamed = [v.messages[-1]["content"] for v in views[1:-1]]
    assert streamed == [fmt.streaming_markdown("Up to "),
                        fmt.streaming_markdown("Up to 55 billion "),
                        fmt.streaming_markdown("Up to 55 billion cubic metres [1].")]
    final = views[-1]
    assert final.messages[0] == {"role": "user", "content": fmt.escape_markdown(GAS_QUESTION)}
    assert f"[\\[1\\]]({BBC})" in final.messages[-1]["content"]
    assert 'class="source-card"' in final.sources and f'href="{BBC}"' in final.sources
    assert "<mark>55</mark>" not in final.sources  # 55 is not in the question...
    assert "<mark>Russia</mark>" in final.sources  # ...Russia is
    assert "up to 31 Jan 2025" in final.status and "answered in" in final.status
    assert final.session.history == [(GAS_QUESTION, "Up to 55 billion cubic metres [1].")]
    [saved] = controller.conversations.recent()
    assert saved.id == final.session.conversation_id and saved.turns == 1


def test_controls_and_history_reach_the_assistant(controller_for):
    fake = RecordingAssistant()
    controller = controller_for(fake)
    session = app.Session()
    list(controller.ask("first question", session))
    list(controller.ask("  and then?  ", session, as_of="2025-02-01", since="2025-01-01",
                        until="2025-01-31", outlets=["bbc.com"]))
    first, second = fake.calls
    assert first["as_of"] is None and first["filters"] == Filters() and first["history"] == []
    assert second["question"] == "and then?"
    assert second["as_of"] == dt.date(2025, 2, 1)
    assert second["filters"] == Filters(since=dt.date(2025, 1, 1), until=dt.date(2025, 1, 31),
                                        outlets=("bbc.com",))
    assert second["history"] == [("first question", "Up to 55 billion cubic metres [1].")]
    [saved] = controller.conversations.recent()
    assert saved.turns == 2  # one conversation, two turns


def test_a_real_chain_gets_earlier_turns_as_history(make_assistant, corpus, controller_for):
    llm = ScriptedLLM(["Russia could supply up to 55 billion cubic metres a year [1].",
                       "Through which country would the Russian gas pipeline to Iran pass?",
                       "Through Azerbaijan [1]."])
    assistant = make_assistant(llm=llm)
    assistant.ingest([corpus])
    controller = controller_for(assistant)
    session = app.Session()
    first = list(controller.ask(GAS_QUESTION, session))[-1]
    assert "bbc.com" in first.sources and "55 billion" in first.messages[-1]["content"]
    last = list(controller.ask("Through which country?", session))[-1]
    assert GAS_QUESTION in llm.prompts[1]  # the follow-up was condensed with the history
    assert "Azerbaijan" in last.messages[-1]["content"]
    assert len(session.turns) == 2


def test_blank_questions_do_nothing(controller_for):
    fake = RecordingAssistant()
    views = list(controller_for(fake).ask("   ", app.Session()))
    assert len(views) == 1 and views[0].messages == [] and fake.calls == []


def test_empty_index_gives_the_collection_hint(make_assistant, controller_for):
    final = list(controller_for(make_assistant()).ask(GAS_QUESTION, app.Session()))[-1]
    assert "Collection" in final.messages[-1]["content"]
    assert "assistant ingest PATH" in final.messages[-1]["content"]
    assert final.session.turns == [] and final.session.conversation_id is None


def test_too_long_questions_are_refused_kindly(make_assistant, corpus, controller_for):
    assistant = make_assistant(max_question_chars=20)
    assistant.ingest([corpus])
    final = list(controller_for(assistant).ask("x" * 50, app.Session()))[-1]
    assert "keep it under 20" in final.messages[-1]["content"]


def test_llm_unavailable_is_a_chat_message_and_not_a_turn(controller_for):
    fake = RecordingAssistant(error=LLMUnavailableError("cannot reach http://127.0.0.1:11434"))
    controller = controller_for(fake)
    final = list(controller.ask(GAS_QUESTION, app.Session()))[-1]
    assert "not reachable" in final.messages[-1]["content"]
    assert final.session.turns == [] and controller.conversations.recent() == []


def test_bad_control_dates_are_explained_before_asking(controller_for):
    fake = RecordingAssistant()
    final = list(controller_for(fake).ask("q", app.Session(), as_of="yesterday"))[-1]
    assert "YYYY-MM-DD" in final.messages[-1]["content"] and fake.calls == []


def test_unexpected_errors_are_logged_and_shown_generically(controller_for, caplog):
    fake = RecordingAssistant(error=RuntimeError("/srv/secret exploded"))
    with caplog.at_level(logging.ERROR, logger="news_assistant.app"):
        final = list(controller_for(fake).ask("q", app.Session()))[-1]
    assert fmt.GENERIC_ERROR_MESSAGE in final.messages[-1]["content"]
    assert "secret" not in final.messages[-1]["content"]
    assert "secret exploded" in caplog.text


def test_conversations_reopen_after_a_restart(settings, tmp_path):
    path = tmp_path / "restart.sqlite"
    store = ConversationStore(path)
    before = app.ChatController(RecordingAssistant(), settings, store)
    session = app.Session()
    list(before.ask("first question", session))
    list(before.ask("second question", session))
    store.close()

    store = ConversationStore(path)  # a new process: nothing in memory
    try:
        fake = RecordingAssistant()
        after = app.ChatController(fake, settings, store)
        [(label, cid)] = after.conversation_choices()
        assert cid == session.conversation_id
        assert "first question" in label and "2 questions" in label
        view = after.open(cid)
        assert [m["role"] for m in view.messages] == ["user", "assistant"] * 2
        assert view.messages[2]["content"] == "second question"
        assert f"]({BBC})" in view.messages[3]["content"]
        assert "source-card" in view.sources and "second question" in view.sources
        assert "answered in" in view.status
        list(after.ask("third", view.session))  # it continues with the stored history
        assert [q for q, _ in fake.calls[0]["history"]] == ["first question", "second question"]
        assert store.load(cid).turns[-1].question == "third"
    finally:
        store.close()


def test_clicking_a_message_shows_that_answers_sources(controller_for):
    controller = controller_for(RecordingAssistant())
    session = app.Session()
    list(controller.ask("first question", session))
    list(controller.ask("second question", session))
    assert "first question" in controller.select(session, 1).sources
    assert "first question" in controller.select(session, 0).sources  # its question too
    assert "second question" in controller.select(session, [3, None]).sources
    assert "second question" in controller.select(session, 99).sources  # out of range: last


def test_reset_and_opening_nothing_give_an_empty_chat(controller_for):
    controller = controller_for(RecordingAssistant())
    for view in (controller.reset(), controller.open(None), controller.open("missing")):
        assert view.messages == [] and view.session.conversation_id is None
        assert view.sources == app.SOURCES_PLACEHOLDER


# -- the collection and uploads ----------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win\\evil.JSONL", "evil.jsonl"),
    ("my article (1).txt", "my_article_1_.txt"),
    ("...", "upload"),
    (".hidden.txt", "hidden.txt"),
    ("", "upload"),
])
def test_sanitize_filename(name, expected):
    assert app.sanitize_filename(name) == expected


def test_save_uploads_copies_safe_files_and_refuses_the_rest(tmp_path):
    incoming = tmp_path / "incoming" / "nested"
    incoming.mkdir(parents=True)
    good = incoming / "good.txt"
    good.write_text("<TITLE>t</TITLE><CONTENT>c</CONTENT>")
    big = incoming / "big.jsonl"
    big.write_text("x" * 2000)
    exe = incoming / "run.sh"
    exe.write_text("echo")
    folder = tmp_path / "uploads"
    saved, refused = app.save_uploads([good, big, exe, incoming / "missing.txt"], folder, 1000)
    assert saved == [folder / "good.txt"]
    assert (folder / "good.txt").read_text().startswith("<TITLE>")
    reasons = dict(refused)
    assert "limit" in reasons["big.jsonl"]
    assert ".txt" in reasons["run.sh"]
    assert "could not be saved" in reasons["missing.txt"]
    assert sorted(p.name for p in folder.iterdir()) == ["good.txt"]


def test_one_upload_takes_at_most_max_files_and_names_the_rest(tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    files = []
    for i in range(7):
        files.append(incoming / f"a{i}.txt")
        files[-1].write_text("<TITLE>t</TITLE><CONTENT>c</CONTENT>")
    saved, refused = app.save_uploads(files, tmp_path / "uploads", 1000, max_files=5)
    assert [p.name for p in saved] == [f"a{i}.txt" for i in range(5)]
    assert [name for name, _ in refused] == ["a5.txt", "a6.txt"]
    assert all("another batch" in reason for _, reason in refused)


def test_ingest_progress_is_reported_on_the_calling_thread():
    class SlowIngest:
        def ingest(self, paths, progress=None):
            for i in range(1, 4):
                progress(i, 3)
                threading.Event().wait(0.03)
            return "report"

    seen = []
    caller = threading.get_ident()
    result = app.ingest_with_progress(
        SlowIngest(), [Path("x")], lambda d, t: seen.append((d, t, threading.get_ident())),
        poll_s=0.01,
    )
    assert result == "report"
    assert seen[-1][:2] == (3, 3) and {who for *_, who in seen} == {caller}


def test_upload_indexes_files_and_reports_each_failure(make_assistant, controller_for, tmp_path,
                                                       corpus):
    assistant = make_assistant()
    controller = controller_for(assistant)
    bad = tmp_path / "bad.txt"
    bad.write_text("<TITLE>Broken</TITLE>\nno content\n")
    progress = []
    summary = controller.upload([corpus / "003_volcano.txt", corpus / "005_bakery.jsonl", bad,
                                 tmp_path / "notes.pdf"], lambda d, t: progress.append((d, t)))
    assert "Added" in summary and "failed 1" in summary
    assert "bad.txt" in summary and str(tmp_path) not in summary
    assert "notes.pdf" in summary and "not an article file" in summary
    assert progress and assistant.stats().articles >= 2
    assert sorted(p.name for p in (controller.settings.data_dir / "uploads").iterdir()) == [
        "003_volcano.txt", "005_bakery.jsonl", "bad.txt"]
    assert "towncrier.example.com" in controller.outlet_choices()
    assert "towncrier.example.com" in controller.collection_html()


def test_nothing_uploaded(controller_for):
    assert "Choose" in controller_for(RecordingAssistant()).upload([])


# -- startup and command line ------------------------------------------------------------------
def test_prepare_index_ingests_the_bundled_articles_only_into_an_empty_index(make_assistant,
                                                                             settings):
    assistant = make_assistant()
    report = app.prepare_index(assistant, settings)
    assert report.added == 1 and assistant.stats().outlets == {"bbc.com": 1}
    assert app.prepare_index(assistant, settings) is None  # not empty any more


def test_prepare_index_always_updates_an_articles_folder(make_assistant, settings, corpus):
    assistant = make_assistant(articles=corpus)
    assert app.prepare_index(assistant, assistant.settings).added >= 5
    assert app.prepare_index(assistant, assistant.settings).added == 0  # unchanged: skipped


def test_command_line_flags_become_settings(tmp_path):
    args = app.build_parser().parse_args(
        ["--port", "8080", "--host", "0.0.0.0", "--articles", str(tmp_path),
         "--llm-backend", "fake", "--auth", "alice:pw", "--llm-concurrency", "2"])
    settings = app._settings(args)
    assert (settings.port, settings.host, settings.articles) == (8080, "0.0.0.0", tmp_path)
    assert settings.llm_backend == "fake" and settings.llm_concurrency == 2
    assert app.build_parser().parse_args([]).host is None  # default comes from Settings


def test_bad_flags_exit_with_a_message(capsys):
    assert app.main(["--port", "not-a-port"]) == 2
    assert "invalid setting" in capsys.readouterr().err


def test_conversation_store_failures_do_not_lose_the_answer(controller_for):
    controller = controller_for(RecordingAssistant())
    controller.conversations.close()  # every write now fails
    final = list(controller.ask("q", app.Session()))[-1]
    assert "source-card" in final.sources
    assert "could not be saved" in final.status


# -- Gradio (construction only, never launched) -------------------------------------------------
@pytest.fixture
def quiet_gradio():
    """Gradio makes (and drops) asyncio loops while building; keep their ResourceWarnings
    out of later tests by collecting them here."""
    import asyncio
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
        try:
            asyncio.get_event_loop_policy().get_event_loop().close()
        except RuntimeError:  # no loop was left set
            pass
        asyncio.set_event_loop(None)
        gc.collect()


def test_build_app_constructs_with_the_answer_event_bounded(quiet_gradio, settings, controller_for):
    settings = settings.model_copy(update={"llm_concurrency": 3})
    demo = app.build_app(RecordingAssistant(), settings,
                         controller_for(RecordingAssistant()).conversations)
    ids = {block.elem_id for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    assert {"chat", "question", "sources", "status", "upload", "past-conversations",
            "outlets", "clear", "new-conversation"} <= ids
    answering = [f for f in demo.fns.values() if f.name == "ask"]
    # Retrieval runs side by side; generation itself is bounded by BoundedLLM.
    assert answering and all(f.concurrency_limit == 12 for f in answering)
    assert {f.concurrency_id for f in answering} == {"answer"}
    uploads = [f for f in demo.fns.values() if f.name == "upload"]
    assert uploads and uploads[0].concurrency_limit == 1
    api = [f for f in demo.fns.values() if f.api_name == "answer"]
    assert len(api) == 1 and api[0].concurrency_id == "answer"  # one queue with the chat


def test_the_api_answers_with_the_answer_as_json(make_assistant, corpus, controller_for):
    from assistant.testing import ScriptedLLM

    a = make_assistant(ScriptedLLM(["A fissure eruption near Grindavik [1]."]))
    a.ingest([corpus])
    got = controller_for(a).answer_api("What erupted near Grindavik?", "2025-01-31",
                                       "", "", [])
    assert "Grindavik" in got["answer"] and got["citations"]
    assert {"title", "url", "published_date"} <= set(got["citations"][0])


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ({"question": "   "}, "Please rephrase"),
        ({"question": "What erupted?", "since": "yesterday-ish"}, "YYYY-MM-DD"),
        ({"question": "x " * 5000}, "Please rephrase"),
    ],
)
def test_the_api_refuses_bad_calls_with_the_chats_message(make_assistant, corpus,
                                                          controller_for, call, expected):
    a = make_assistant()
    a.ingest([corpus])
    with pytest.raises(app.ApiError, match=expected):
        controller_for(a).answer_api(**call)


def test_launch_options(quiet_gradio, settings):
    options = app.launch_options(settings.model_copy(update={"auth": "alice:s3:cret",
                                                             "max_upload_mb": 7}))
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 7860
    assert options["auth"] == ("alice", "s3:cret") and options["max_file_size"] == "7mb"
    assert options["show_error"] is False
    assert "auth" not in app.launch_options(settings)
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="user:password"):
        app.launch_options(settings.model_copy(update={"auth": "alice"}))


def test_importing_the_app_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, app, assistant.ui_format; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(app.__file__).parent,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
