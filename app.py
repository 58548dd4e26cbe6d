"""The web app: ask questions about the news in a browser, see the sources beside each answer.

    python app.py                      # bundled articles, http://127.0.0.1:7860
    python app.py --articles DIR       # index DIR first (incrementally), then serve
    python app.py --host 0.0.0.0 --port 8080 --auth user:password

Every setting of :class:`~assistant.settings.Settings` is also a flag here, as in the CLI.

The UI logic lives in :class:`ChatController` (plain Python, unit-tested without a server)
and the formatting in :mod:`assistant.ui_format`; :func:`build_app` only lays out Gradio
components and wires their events to the controller. Gradio is imported inside the
functions that need it, so importing this module (or anything of ``assistant``) stays light.
"""

# No ``from __future__ import annotations`` here: Gradio reads the ``gr.SelectData``
# annotations of the event handlers at runtime, and ``gr`` is local to build_app().
import argparse
import logging
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant import ui_format as fmt
from assistant.conversations import ConversationStore
from assistant.errors import AssistantError, ConfigError
from assistant.settings import BUNDLED_ARTICLES, Settings
from assistant.types import Answer

__all__ = [
    "build_app",
    "main",
    "build_parser",
    "launch_options",
    "prepare_index",
    "ChatController",
    "Session",
    "ChatView",
    "sanitize_filename",
    "save_uploads",
    "ingest_with_progress",
    "warm_up",
    "EXAMPLES",
    "UPLOAD_SUFFIXES",
]

log = logging.getLogger("news_assistant.app")

# Questions the bundled article answers (the 2025 Russia-Iran treaty).
EXAMPLES = (
    "How much gas could Russia supply to Iran per year?",
    "What did Russia and Iran agree in their treaty?",
    "Which country would a Russian gas pipeline to Iran pass through?",
)
UPLOAD_SUFFIXES = (".txt", ".jsonl")
SOURCES_PLACEHOLDER = (
    '<div class="sources sources-empty">Ask a question: the articles that the answer cites '
    "show here, with the passages that support it.</div>"
)
THINKING = "_Searching the articles…_"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# -- uploads --------------------------------------------------------------------------------
def sanitize_filename(name: str) -> str:
    """A safe basename for an uploaded file: no folders, no ``..``, no odd characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE_NAME.sub("_", base).lstrip(".-_")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def save_uploads(
    paths: Sequence[str | Path], folder: Path, max_bytes: int, max_files: int = 500
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy uploaded files into ``folder`` under sanitised names.

    Returns the files saved and, for each file refused, its name and the reason. A file
    with the name of an earlier upload replaces it, so uploading an edited article updates it.
    Past ``max_files``, files are refused (one upload must not hold the ingest lock for hours).
    """
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    refused: list[tuple[str, str]] = [
        (Path(p).name, f"over the {max_files} files one upload takes: upload it in another batch")
        for p in paths[max_files:]
    ]
    limit_mb = max_bytes / 1_000_000
    for path in map(Path, paths[:max_files]):
        name = sanitize_filename(path.name)
        if not name.endswith(UPLOAD_SUFFIXES):
            refused.append((path.name, "not an article file: upload .txt (tagged) or .jsonl"))
            continue
        try:
            size = path.stat().st_size
            if size > max_bytes:
                refused.append((path.name, f"{size / 1_000_000:.1f} MB is over the "
                                           f"{limit_mb:g} MB limit per file: split it"))
                continue
            target = folder / name
            shutil.copyfile(path, target)
        except OSError as exc:
            refused.append((path.name, f"could not be saved ({exc.strerror or exc})"))
            continue
        saved.append(target)
    return saved, refused


def ingest_with_progress(
    assistant: Any,
    paths: Sequence[Path],
    report: Callable[[int, int | None], None] | None = None,
    poll_s: float = 0.2,
) -> Any:
    """``assistant.ingest(paths)``, calling ``report(done, total)`` on *this* thread.

    Ingestion calls its progress callback from its worker threads, where Gradio's progress
    bar (bound to the event's context) does nothing; so it runs in a worker here and this
    thread relays the counts.
    """
    latest: list[tuple[int, int | None]] = [(0, None)]  # one slot, replaced by each tick
    shown: tuple[int, int | None] | None = None

    def tick(done: int, total: int | None) -> None:
        latest[0] = (done, total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-ingest") as pool:
        future = pool.submit(assistant.ingest, paths, progress=tick)
        while True:
            finished = future.done()
            if report is not None and latest[0] != shown:
                shown = latest[0]
                report(*shown)
            if finished:
                return future.result()
            wait([future], timeout=poll_s)


# -- the chat -------------------------------------------------------------------------------
@dataclass
class Session:
    """One browser tab's conversation: what the chat shows and what the assistant needs."""

    conversation_id: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    message_turns: list[int | None] = field(default_factory=list)  # message -> its turn

    def add(self, role: str, content: str, turn: int | None) -> int:
        self.messages.append({"role": role, "content": content})
        self.message_turns.append(turn)
        return len(self.messages) - 1

    @property
    def history(self) -> list[tuple[str, str]]:
        return [(t["question"], t["answer"]) for t in self.turns]


@dataclass(frozen=True)
class ChatView:
    """What one step of the chat handler shows: chat messages, source cards, status line."""

    messages: list[dict[str, str]]
    sources: str
    status: str
    session: Session


class ApiError(Exception):
    """A refused API call; its message is safe to show (Gradio sends it as gr.Error)."""


class ChatController:
    """The app's behaviour, free of Gradio: answer, reset, reopen, collection, uploads."""

    def __init__(self, assistant: Any, settings: Settings,
                 conversations: ConversationStore | None = None) -> None:
        self.assistant = assistant
        self.settings = settings
        self.conversations = conversations or ConversationStore(
            settings.data_dir / "conversations.sqlite"
        )
        self._ingest_lock = threading.Lock()

    # -- asking ------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        session: Session,
        as_of: str | None = None,
        since: str | None = None,
        until: str | None = None,
        outlets: Sequence[str] | None = None,
    ) -> Iterator[ChatView]:
        """Answer ``question`` in ``session``: yields the streamed text, then the answer
        with its source cards; errors become a friendly message in the chat."""
        question = (question or "").strip()
        if not question:
            yield self._view(session, len(session.turns) - 1)
            return
        session.add("user", fmt.escape_markdown(question), None)
        slot = session.add("assistant", THINKING, None)
        yield ChatView(list(session.messages), SOURCES_PLACEHOLDER, "", session)
        try:
            filters = fmt.build_filters(since, until, outlets)
            day = fmt.parse_day(as_of, "As of")
            answer: Answer | None = None
            text = ""
            for piece in self.assistant.stream_answer(
                question, as_of=day, filters=filters, history=session.history
            ):
                if isinstance(piece, Answer):
                    answer = piece
                    continue
                text += piece
                session.messages[slot] = {"role": "assistant",
                                          "content": fmt.streaming_markdown(text)}
                yield ChatView(list(session.messages), SOURCES_PLACEHOLDER, "", session)
            if answer is None:
                raise RuntimeError("the answer stream ended without an Answer")
        except AssistantError as exc:
            log.info("question not answered: %s", exc)
            session.messages[slot] = {"role": "assistant", "content": fmt.friendly_error(exc)}
            yield ChatView(list(session.messages), SOURCES_PLACEHOLDER, "", session)
            return
        except Exception as exc:  # never a stack trace in the browser: log it here
            log.exception("answering %r failed", question)
            session.messages[slot] = {"role": "assistant", "content": fmt.friendly_error(exc)}
            yield ChatView(list(session.messages), SOURCES_PLACEHOLDER, "", session)
            return
        turn = self._record(session, question, answer, filters)
        session.message_turns[slot - 1] = session.message_turns[slot] = turn
        session.messages[slot] = {"role": "assistant", "content": self._answer_md(
            session.turns[turn])}
        yield self._view(session, turn)

    def answer_api(
        self,
        question: str,
        as_of: str | None = None,
        since: str | None = None,
        until: str | None = None,
        outlets: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """One answer for a program (``/answer`` in the app's API): the Answer as JSON.
        Errors raise ``ApiError`` with the message a person would see in the chat."""
        try:
            filters = fmt.build_filters(since, until, outlets)
            day = fmt.parse_day(as_of, "As of")
            return self.assistant.answer((question or "").strip(), as_of=day,
                                         filters=filters).to_json()
        except AssistantError as exc:
            raise ApiError(fmt.friendly_error(exc)) from exc
        except Exception as exc:
            log.exception("answering %r through the API failed", question)
            raise ApiError(fmt.friendly_error(exc)) from exc

    def _record(self, session: Session, question: str, answer: Answer, filters: Any) -> int:
        record = {
            "question": question,
            "answer": answer.text,
            "sources": fmt.source_records(answer),
            "meta": fmt.answer_meta(answer, filters),
        }
        session.turns.append(record)
        try:
            if session.conversation_id is None:
                session.conversation_id = self.conversations.create(question)
            self.conversations.append(session.conversation_id, question, answer.text,
                                      record["sources"], record["meta"])
        except Exception:  # the answer still shows; only its saving failed
            log.exception("could not save the conversation turn")
            record["meta"]["not_saved"] = True
        return len(session.turns) - 1

    @staticmethod
    def _answer_md(turn: dict[str, Any]) -> str:
        return fmt.answer_markdown(turn["answer"], turn["sources"])

    def _view(self, session: Session, turn: int | None) -> ChatView:
        if turn is None or not 0 <= turn < len(session.turns):
            return ChatView(list(session.messages), SOURCES_PLACEHOLDER, "", session)
        record = session.turns[turn]
        heading = (
            f'<div class="sources-for">Sources for <q>{fmt.escape_text(record["question"])}</q>'
            "</div>"
        )
        status = fmt.status_line(record["meta"])
        if record["meta"].get("not_saved"):
            status += " · this answer could not be saved to the conversation history"
        return ChatView(
            list(session.messages),
            heading + fmt.source_cards(record["sources"], record["question"], record["answer"]),
            status,
            session,
        )

    def select(self, session: Session, message_index: Any) -> ChatView:
        """Show the sources of the answer whose message (or question) was clicked."""
        index = message_index[0] if isinstance(message_index, (list, tuple)) else message_index
        turn = None
        if isinstance(index, int) and 0 <= index < len(session.message_turns):
            turn = session.message_turns[index]
        return self._view(session, turn if turn is not None else len(session.turns) - 1)

    # -- conversations -------------------------------------------------------------------
    def reset(self) -> ChatView:
        """A new, empty conversation (the old one stays in the list of past ones)."""
        return ChatView([], SOURCES_PLACEHOLDER, "", Session())

    def open(self, conversation_id: str | None) -> ChatView:
        """Reopen a stored conversation: its messages, and the sources of its last answer."""
        stored = self.conversations.load(conversation_id) if conversation_id else None
        if stored is None:
            return self.reset()
        session = Session(conversation_id=stored.id)
        for i, turn in enumerate(stored.turns):
            record = {"question": turn.question, "answer": turn.answer,
                      "sources": list(turn.citations), "meta": turn.meta or {}}
            session.turns.append(record)
            session.add("user", fmt.escape_markdown(turn.question), i)
            session.add("assistant", self._answer_md(record), i)
        return self._view(session, len(session.turns) - 1)

    def conversation_choices(self, limit: int = 50) -> list[tuple[str, str]]:
        """(label, id) of the recent conversations, newest first, for a dropdown."""
        try:
            recent = self.conversations.recent(limit)
        except Exception:
            log.exception("could not list the conversations")
            return []
        return [
            (f"{c.title} · {datetime.fromtimestamp(c.updated_at):%d %b %H:%M}"
             f" · {c.turns} {'question' if c.turns == 1 else 'questions'}", c.id)
            for c in recent
        ]

    # -- the collection ------------------------------------------------------------------
    def _stats(self) -> dict[str, Any] | None:
        try:
            return self.assistant.stats().to_json()
        except Exception:
            log.exception("could not read the index statistics")
            return None

    def collection_html(self) -> str:
        stats = self._stats()
        if stats is None:
            return ('<div class="collection-empty">The index could not be read; see the '
                    "server log.</div>")
        return fmt.collection_summary(stats)

    def outlet_choices(self) -> list[str]:
        stats = self._stats() or {}
        return sorted(o for o in (stats.get("outlets") or {}) if o)

    def upload(
        self,
        paths: Sequence[str | Path],
        report: Callable[[int, int | None], None] | None = None,
    ) -> str:
        """Save uploaded article files and index them; returns the summary (Markdown)."""
        if not paths:
            return "Choose .txt or .jsonl article files to add them."
        folder = self.settings.data_dir / "uploads"
        saved, refused = save_uploads(paths, folder, self.settings.max_upload_mb * 1_000_000,
                                      self.settings.max_upload_files)
        if not saved:
            return fmt.ingest_summary(None, refused)
        try:
            with self._ingest_lock:  # one ingestion at a time writes the index
                result = ingest_with_progress(self.assistant, [folder], report)
        except AssistantError as exc:
            log.warning("upload not indexed: %s", exc)
            return f"The files were saved but not indexed: {fmt.escape_markdown(str(exc))}"
        except Exception:
            log.exception("indexing uploads failed")
            return "Indexing the uploaded files failed; the error was logged on the server."
        # Reasons name files by their server path: show people only the names they uploaded.
        inside = str(folder) + "/"
        summary = result.to_json()
        summary["failed"] = [
            {"file": f["file"], "reason": f["reason"].replace(inside, "")}
            for f in summary["failed"]
        ]
        warnings = [(w.file, w.reason.replace(inside, "")) for w in result.warnings]
        return fmt.ingest_summary(summary, refused, warnings)


# -- the Gradio app -------------------------------------------------------------------------
CSS = """
.app-header h1 { margin: 0 0 .2rem 0; font-size: 1.6rem; }
.app-header p { margin: 0; opacity: .75; }
#past-conversations .wrap { flex-direction: column; gap: .35rem; }
#past-conversations label { width: 100%; font-size: .85rem; line-height: 1.3; }
#status { min-height: 1.4em; font-size: .86rem; opacity: .85; }
#status p { margin: 0; }
#sources { max-height: 640px; overflow-y: auto; }
.sources-for { font-size: .9rem; margin: 0 0 .5rem 0; opacity: .8; }
.sources { display: flex; flex-direction: column; gap: .65rem; }
.sources-empty, .collection-empty { opacity: .7; font-size: .92rem; padding: .5rem 0; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  text-align: left;
  padding: .7rem .85rem; background: var(--background-fill-secondary); }
.source-head { display: flex; gap: .55rem; align-items: baseline; }
.source-n { flex: none; display: inline-flex; align-items: center; justify-content: center;
  min-width: 1.55rem; height: 1.55rem; border-radius: 999px; font-weight: 700; font-size: .8rem;
  background: var(--color-accent); color: white; }
#sources .source-title { font-weight: 600; line-height: 1.3; word-break: break-word;
  text-align: left; }
a.source-title { color: var(--link-text-color); text-decoration: none; }
a.source-title:hover { text-decoration: underline; }
.source-meta { font-size: .8rem; opacity: .75; margin: .2rem 0 .45rem 2.1rem; }
.source-passage { margin: 0 0 0 2.1rem; padding: .1rem 0 .1rem .7rem; font-size: .88rem;
  line-height: 1.45; border-left: 3px solid var(--border-color-accent); }
.source-passage mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: 3px; }
.source-full { margin: .35rem 0 0 0; font-size: .85rem; }
.source-full summary { cursor: pointer; opacity: .75; font-size: .8rem; }
.source-also { font-size: .8rem; opacity: .8; margin: .4rem 0 0 2.1rem; }
.collection-figures { display: flex; gap: 1.6rem; font-size: 1.05rem; margin-bottom: .4rem; }
.collection-outlets { width: 100%; font-size: .9rem; border-collapse: collapse; }
.collection-outlets th, .collection-outlets td { border: none;
  border-bottom: 1px solid var(--border-color-primary); padding: .3rem .5rem; }
#chat .message-content a { font-weight: 600; text-decoration: none;
  color: var(--link-text-color); }
.collection-outlets td:last-child, .collection-outlets th:last-child { text-align: right; }
"""


def launch_options(settings: Settings) -> dict[str, Any]:
    """The ``launch()`` arguments for these settings (address, login, upload limit, look)."""
    import gradio as gr

    options: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "show_error": False,  # errors are shown as friendly messages, never as tracebacks
        "ssr_mode": False,
        "footer_links": ["gradio", "settings"],
        "theme": gr.themes.Soft(primary_hue="blue", neutral_hue="slate"),
        "css": CSS,
    }
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not (sep and user and password):
            raise ConfigError(
                "ASSISTANT_AUTH must be 'user:password' (both non-empty), e.g. --auth alice:s3cret"
            )
        options["auth"] = (user, password)
        options["auth_message"] = "Log in to ask questions about the news collection."
    return options


def build_app(assistant: Any, settings: Settings,
              conversations: ConversationStore | None = None):
    """The Gradio Blocks of the app (not launched): an Ask tab and a Collection tab.

    Answering events retrieve side by side (several people at once); only the model's
    generation is bounded, by ``settings.llm_concurrency`` in ``BoundedLLM``. Every other
    event (reopening conversations, the collection, uploads) has its own limits, so none
    waits behind an answer being generated.
    """
    import gradio as gr

    controller = ChatController(assistant, settings, conversations)

    def view(v: ChatView) -> tuple:
        return v.messages, v.sources, v.status, v.session

    def ask(question, session, as_of, since, until, outlets):
        for step in controller.ask(question, session, as_of, since, until, outlets):
            yield view(step)

    def take_question(question: str):
        return "", question

    def pick_example(evt: gr.SelectData):
        return (evt.value or {}).get("text", "")

    def select(session, evt: gr.SelectData):
        return view(controller.select(session, evt.index))

    def conversations_update(session: Session | None = None):
        return gr.update(choices=controller.conversation_choices(),
                         value=session.conversation_id if session else None)

    def reset():
        return (*view(controller.reset()), conversations_update())

    def reopen(conversation_id):
        return view(controller.open(conversation_id))

    def collection():
        return controller.collection_html(), gr.update(choices=controller.outlet_choices())

    def upload(files, progress=gr.Progress()):
        def report(done: int, total: int | None) -> None:
            progress((done, total), desc="Indexing articles", unit="articles")

        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        summary = controller.upload(paths, report)
        return (summary, *collection(), None)

    def on_load():
        return (conversations_update(), *collection())

    def api_answer(question: str, as_of: str = "", since: str = "", until: str = "",
                   outlets: list[str] | None = None) -> dict:
        """Answer one question about the news collection, as in assistant.Answer.to_json:
        the question, the answer text, its citations (n, title, url, outlet, published_date,
        passage), the sources shown to the model, the date window and timings. Dates are
        YYYY-MM-DD; as_of is the day "last week" counts from (default today)."""
        try:
            return controller.answer_api(question, as_of, since, until, outlets)
        except ApiError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        session = gr.State(Session())
        pending = gr.State("")
        with gr.Sidebar(width=300, elem_id="sidebar"):
            gr.Markdown("### Conversations")
            new_btn = gr.Button("New conversation", variant="primary", elem_id="new-conversation")
            past = gr.Radio(
                choices=[], value=None, label="Past conversations", interactive=True,
                elem_id="past-conversations",
            )
        gr.HTML(
            '<div class="app-header"><h1>News assistant</h1><p>Ask about the news in the '
            "collection. Every answer cites the articles it comes from, shown beside it."
            "</p></div>"
        )
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chatbot = gr.Chatbot(
                            label="Conversation", height=520, elem_id="chat",
                            latex_delimiters=[], feedback_options=None, buttons=["copy"],
                            placeholder="**Ask a question about the news in the collection.**"
                                        "<br>For example:",
                            examples=[{"text": q} for q in EXAMPLES],
                        )
                        with gr.Row(equal_height=True, elem_id="ask-row"):
                            question = gr.Textbox(
                                show_label=False, container=False, scale=8, lines=1,
                                max_lines=4, placeholder="Ask a question about the news…",
                                max_length=settings.max_question_chars * 2,
                                elem_id="question", autofocus=True,
                            )
                            ask_btn = gr.Button("Ask", variant="primary", scale=1,
                                                min_width=80, elem_id="ask")
                            clear_btn = gr.Button("Clear", scale=1, min_width=80,
                                                  elem_id="clear")
                        with gr.Accordion("Dates and outlets", open=False, elem_id="filters"):
                            with gr.Row():
                                as_of = gr.Textbox(
                                    label="As of", placeholder="today",
                                    info="The day “last week” and “yesterday” count from.",
                                )
                                since = gr.Textbox(label="Published from",
                                                   placeholder="YYYY-MM-DD",
                                                   info="Only articles published on or after.")
                                until = gr.Textbox(label="Published until",
                                                   placeholder="YYYY-MM-DD",
                                                   info="Only articles published on or before.")
                            outlets = gr.Dropdown(
                                choices=[], multiselect=True, label="Outlets",
                                info="Only articles from these outlets; empty: every outlet.",
                                elem_id="outlets",
                            )
                    with gr.Column(scale=2, min_width=340, elem_id="sources-column"):
                        gr.Markdown("### Sources")
                        status = gr.Markdown(elem_id="status")
                        sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="sources")
            with gr.Tab("Collection", id="collection"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        gr.Markdown("### In the collection")
                        stats = gr.HTML(elem_id="collection-stats")
                        refresh_btn = gr.Button("Refresh", size="sm", scale=0)
                    with gr.Column(scale=2):
                        gr.Markdown("### Add articles")
                        files = gr.File(
                            label=".txt (tagged) or .jsonl files",
                            file_count="multiple", file_types=list(UPLOAD_SUFFIXES),
                            elem_id="upload",
                        )
                        gr.Markdown(
                            f"Up to {settings.max_upload_mb} MB per file. Files are indexed as "
                            "soon as they are uploaded; a file with the name of an earlier "
                            "upload replaces it."
                        )
                        upload_summary = gr.Markdown(elem_id="upload-summary")

        chat_outputs = [chatbot, sources, status, session]
        ask_inputs = [pending, session, as_of, since, until, outlets]
        # Questions retrieve side by side; only generation is bounded (BoundedLLM, at
        # settings.llm_concurrency), so the queue here is wider than the model's.
        answer_args = {"concurrency_limit": max(4, settings.llm_concurrency * 4),
                       "concurrency_id": "answer"}
        answering = []
        for trigger, take in ((question.submit, take_question), (ask_btn.click, take_question),
                              (chatbot.example_select, pick_example)):
            took = (trigger(take, [question], [question, pending]) if take is take_question
                    else trigger(take, None, [pending]))
            answer = took.then(ask, ask_inputs, chat_outputs, **answer_args)
            answer.then(conversations_update, [session], [past])
            answering.append(answer)
        chatbot.select(select, [session], chat_outputs)
        # Starting afresh stops an answer still being written into the old conversation.
        for start_afresh in (clear_btn.click, new_btn.click, chatbot.clear):
            start_afresh(reset, None, [*chat_outputs, past], cancels=answering)
        past.input(reopen, [past], chat_outputs, cancels=answering)
        files.upload(upload, [files], [upload_summary, stats, outlets, files],
                     concurrency_limit=1, concurrency_id="ingest")
        refresh_btn.click(collection, None, [stats, outlets])
        # For programs (gradio_client, HTTP): shares the chat's queue and its limit.
        gr.api(api_answer, api_name="answer", **answer_args)
        demo.load(on_load, None, [past, stats, outlets])
    # Other events (reopening, the collection) run several at a time, beside the answers.
    demo.queue(default_concurrency_limit=max(4, settings.llm_concurrency * 2))
    return demo


# -- command line ---------------------------------------------------------------------------
_HELP = {
    "articles": "index this folder (incrementally) before serving; default: the bundled "
                "articles when the index is empty",
    "host": "address to listen on (default 127.0.0.1: this machine only)",
    "port": "port to listen on (default 7860)",
    "auth": "require this login, as user:password",
    "data_dir": "where the index and the conversations are kept",
    "llm_backend": "local, gguf, ollama, openai or fake",
    "max_upload_mb": "largest article file accepted by upload, in MB",
    "max_upload_files": "most files taken from one upload",
    "llm_concurrency": "answers generated at the same time",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app.py", description="Serve the news assistant as a web app."
    )
    for name in Settings.model_fields:
        parser.add_argument(
            "--" + name.replace("_", "-"), dest=name, default=None, metavar=name.upper(),
            help=_HELP.get(name, f"setting {name} (also ASSISTANT_{name.upper()})"),
        )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError
        raise ConfigError(f"invalid setting: {exc}") from exc


def prepare_index(assistant: Any, settings: Settings) -> Any:
    """Index ``settings.articles`` (always, incrementally: cheap when unchanged), or the
    bundled articles when the index is empty. Returns the report, or None if nothing ran."""
    folder = settings.articles
    if folder is None:
        if assistant.stats().articles:
            return None
        folder = BUNDLED_ARTICLES
    folder = Path(folder)
    if not folder.exists():
        raise ConfigError(f"--articles {folder}: no such file or folder")
    log.info("indexing articles from %s (unchanged ones are skipped)", folder)
    from tqdm import tqdm

    with tqdm(unit=" articles", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        report = assistant.ingest([folder], progress=progress)
    log.info("indexed: %s", report.to_json() | {"failed": len(report.failed)})
    for failure in report.failed:
        log.warning("not indexed: %s: %s", failure.file, failure.reason)
    return report


def warm_up(assistant: Any) -> None:
    """Load the embedder and the LLM now, so the first question does not wait for them.

    A model that fails to load is only logged: the question that needs it then gets the
    friendly message for that error.
    """
    try:
        assistant.embeddings.embed_query("warm up")
        assistant.llm  # noqa: B018 - building it is the point
    except Exception as exc:
        log.warning("could not load a model ahead of the first question: %s", exc)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup checks
    try:
        settings = _settings(args)
        options = launch_options(settings)
        from assistant.service import Assistant

        assistant = Assistant(settings)
        prepare_index(assistant, settings)
        demo = build_app(assistant, settings)
        threading.Thread(target=warm_up, args=(assistant,), name="warm-up", daemon=True).start()
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    demo.launch(**options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
