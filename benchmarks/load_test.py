"""Load test: concurrent clients ask questions through the running app's API.

    .venv/bin/python benchmarks/load_test.py [--llm fake|local] [--clients 8]
        [--questions 200] [--ingest-during 40] [--timeout 900]

Starts ``app.py`` on a free loopback port with a fresh index of the bundled seed and the
test fixtures, asks every question once alone to learn its answer, then has ``--clients``
gradio_client clients ask ``--questions`` in total through ``/answer`` at once. With
``--ingest-during N`` it uploads N new articles through ``/upload`` while they ask.

Each reply must be an answer (no error), to the question that client asked (the echo),
led by the same passage as that question's answer alone, and with the fake LLM
the same text (nothing mixed between users; the real model's wording may differ by a
word, as llama.cpp reuses its cache between prompts); the new
articles must all be in the index afterwards and answer a question about them. Prints
JSON (counts, p50/p95 latency, throughput) and exits 1 if anything was lost, wrong or
mixed. Loopback only; stops by itself after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

AS_OF = "2025-02-14"
# One question per article of the corpus below, so that different questions get
# different answers and a reply given to the wrong client shows.
QUESTIONS = (
    "How much gas could Russia supply to Iran per year?",
    "What did the renaming of the Gulf of Mexico lead to?",
    "How much does congestion pricing cost drivers in New York?",
    "Where did the Iceland volcano erupt?",
    "Which bakery won the national bread award?",
    "When will high school start under the school board's plan?",
)
NEW_TOPIC = "What did the Quillfeather observatory measure?"


@dataclass
class LoadResult:
    asked: int = 0
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    ingest: dict | None = None

    @property
    def ok(self) -> bool:
        ok = self.answered == self.asked and not self.errors and not self.mixed
        return ok and (self.ingest is None or self.ingest["ok"])

    def to_json(self) -> dict:
        from assistant.eval import percentile

        lat = self.latencies
        return {
            "ok": self.ok, "asked": self.asked, "answered": self.answered,
            "errors": self.errors[:10], "n_errors": len(self.errors),
            "mixed": self.mixed[:10], "n_mixed": len(self.mixed),
            "latency_p50_s": round(percentile(lat, 50), 3) if lat else None,
            "latency_p95_s": round(percentile(lat, 95), 3) if lat else None,
            "latency_mean_s": round(statistics.fmean(lat), 3) if lat else None,
            "seconds": round(self.seconds, 1),
            "questions_per_s": round(self.answered / self.seconds, 2) if self.seconds else None,
            "ingest": self.ingest,
        }


def corpus(folder: Path) -> Path:
    """The bundled seed and the test fixtures, copied to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in [*(ROOT / "tests" / "fixtures" / "articles").iterdir(),
                 *(ROOT / "data" / "articles").glob("*.txt")]:
        shutil.copy(path, folder)
    return folder


def new_articles(folder: Path, n: int) -> list[Path]:
    """``n`` articles on a topic nothing else in the corpus mentions."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"quillfeather_{i:03d}.txt"
        path.write_text(
            f"<TITLE>Quillfeather observatory report {i}</TITLE>\n"
            f"<PUBLISHED_DATE>2025-02-{i % 12 + 1:02d}</PUBLISHED_DATE>\n"
            f"<URL>https://load.test/quillfeather/{i}</URL>\n<CONTENT>\n"
            f"The Quillfeather observatory measured {100 + i} faint pulsars in survey "
            f"field {i}, its director said. The survey of field {i} took {i + 3} nights.\n"
            "</CONTENT>\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def ask(client, question: str) -> dict:
    return client.predict(question=question, as_of=AS_OF, since="", until="", outlets=[],
                          api_name="/answer")


def expected_answers(url: str, questions: Sequence[str]) -> dict[str, dict]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    answers = {q: ask(client, q) for q in questions}
    if len({_sources(a) for a in answers.values()}) < len(answers):
        firsts = {q: _sources(a) for q, a in answers.items()}
        raise RuntimeError(f"questions share their best passage, so mixing could not show: {firsts}")
    return answers


def _sources(reply: dict) -> tuple[str, ...]:
    # The best passage only: the lower ranks may change as articles are uploaded meanwhile.
    return tuple(s["chunk_id"] for s in reply.get("sources", [])[:1])


def same_reply(got: dict, alone: dict, question: str, *, exact_text: bool) -> bool:
    return (got.get("question") == question and bool(got.get("answer"))
            and _sources(got) == _sources(alone)
            and (not exact_text or got["answer"] == alone["answer"]))


def run_load(url: str, expected: dict[str, dict], *, clients: int, total: int,
             upload: list[Path] | None = None, deadline_s: float = 900,
             exact_text: bool = True) -> LoadResult:
    """``clients`` threads, each with its own gradio_client, ask ``total`` questions."""
    from gradio_client import Client

    result = LoadResult(asked=total)
    lock = threading.Lock()
    questions = list(expected)
    stop_at = time.monotonic() + deadline_s

    def client_loop(c: int) -> None:
        client = Client(url, verbose=False)
        for i in range(c, total, clients):
            if time.monotonic() > stop_at:
                return
            question = questions[(i * 7 + c) % len(questions)]
            started = time.perf_counter()
            try:
                got = ask(client, question)
            except Exception as exc:
                with lock:
                    result.errors.append(f"client {c}, #{i}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                result.latencies.append(elapsed)
                if not same_reply(got, expected[question], question, exact_text=exact_text):
                    result.mixed.append(f"client {c} asked {question!r}, got {got!r:.200}")
                else:
                    result.answered += 1

    threads = [threading.Thread(target=client_loop, args=(c,), daemon=True) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    if upload:
        result.ingest = _upload(url, upload)
    for t in threads:
        t.join(max(1.0, stop_at - time.monotonic()))
    result.seconds = time.perf_counter() - started
    return result


def _upload(url: str, paths: list[Path]) -> dict:
    from gradio_client import Client, handle_file

    started = time.perf_counter()
    summary = Client(url, verbose=False).predict(files=[handle_file(str(p)) for p in paths],
                                                 api_name="/upload")
    return {"files": len(paths), "seconds": round(time.perf_counter() - started, 1),
            "summary": str(summary[0])[:300]}


def check_new_articles(url: str, index: Path, n: int) -> dict:
    """All ``n`` uploaded articles are in the index once, and answer a question."""
    import sqlite3

    from gradio_client import Client

    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
        done = db.execute("SELECT COUNT(*) FROM articles WHERE state='done' AND url LIKE"
                          " 'https://load.test/quillfeather/%'").fetchone()[0]
    got = ask(Client(url, verbose=False), NEW_TOPIC)
    cited = [c["url"] for c in got.get("citations", [])]
    ok = done == n and bool(cited) and all("quillfeather" in u for u in cited)
    return {"ok": ok, "in_index": done, "cited": cited[:3]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", choices=["fake", "local"], default="fake")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--ingest-during", type=int, default=0, metavar="N")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    result = load(args.llm, args.clients, args.questions, args.ingest_during, args.timeout)
    print(json.dumps({"llm": args.llm, "clients": args.clients, **result.to_json()}, indent=2))
    return 0 if result.ok else 1


def load(llm: str, clients: int, questions: int, ingest_during: int, timeout: float,
         work: Path | None = None) -> LoadResult:
    from assistant.testing import running_app

    with tempfile.TemporaryDirectory() as tmp:
        work = work or Path(tmp)
        args = ["--data-dir", str(work / "data"), "--llm-backend", llm,
                "--articles", str(corpus(work / "articles"))]
        with running_app(args, work / "app.log") as url:
            expected = expected_answers(url, QUESTIONS)
            upload = new_articles(work / "new", ingest_during) if ingest_during else None
            result = run_load(url, expected, clients=clients, total=questions, upload=upload,
                              deadline_s=timeout, exact_text=llm == "fake")
            if upload:
                from assistant.settings import Settings

                index = Settings(data_dir=work / "data").lexical_path  # as the app names it
                result.ingest.update(check_new_articles(url, index, len(upload)))
            return result


if __name__ == "__main__":
    raise SystemExit(main())
