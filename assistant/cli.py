"""The `assistant` command: ingest, stats, ask, eval, model-path.

Every setting of :class:`~assistant.settings.Settings` is also a flag (``--data-dir``,
``--collection``, ...) that wins over its ``ASSISTANT_*`` variable. Errors of the
assistant become a one-line message and an exit code here, and only here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, ConfigError
from assistant.settings import Settings

__all__ = ["main", "build_parser"]


def _setting_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also ASSISTANT_<NAME>)")
    for name, info in Settings.model_fields.items():
        group.add_argument(
            "--" + name.replace("_", "-"), dest=f"setting_{name}", default=None,
            metavar=name.upper(), help=info.description,
        )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Ask questions about a collection of news articles."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="add article files (.txt tagged, .jsonl) to the index")
    ingest.add_argument("paths", nargs="+", type=Path, help="files or folders (recursive)")
    ingest.add_argument("--prune", action="store_true", help="remove articles whose files are gone")
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    stats = sub.add_parser("stats", help="describe the index")
    stats.add_argument("--json", action="store_true")

    ask = sub.add_parser("ask", help="answer a question from the indexed articles")
    ask.add_argument("question")
    ask.add_argument("--as-of", type=_date, help="the assistant's 'today' (YYYY-MM-DD)")
    ask.add_argument("--since", type=_date, help="only articles published on or after")
    ask.add_argument("--until", type=_date, help="only articles published on or before")
    ask.add_argument("--outlet", action="append", default=[], help="only this outlet (repeatable)")
    ask.add_argument("--json", action="store_true")

    ev = sub.add_parser("eval", help="evaluate on a folder laid out like newsqa-2025")
    ev.add_argument("path", type=Path)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--retrieval-only", action="store_true")
    ev.add_argument("--no-baselines", action="store_true", help="skip plain BM25 and dense")
    ev.add_argument("--no-absent", action="store_true", help="skip the answer-absent run")
    ev.add_argument("--answers", type=Path, help="write each question's answers here (JSON Lines)")
    ev.add_argument("--json", action="store_true")

    model = sub.add_parser("model-path", help="print the checked GGUF file of the packaged "
                           "model (ASSISTANT_LLM_MODEL), e.g. for an inference server")

    for p in (ingest, stats, ask, ev, model):
        _setting_flags(p)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_") and value is not None
    }
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError
        raise ConfigError(f"invalid setting: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from assistant.service import Assistant

        assistant = Assistant(_settings(args))
        return _COMMANDS[args.command](assistant, args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return 130


def _cmd_model_path(assistant: Any, args: argparse.Namespace) -> int:
    from assistant.model_files import resolve_model_file

    settings = assistant.settings
    print(resolve_model_file(settings.llm_model, settings.models_dir))
    return 0


def _cmd_ingest(assistant: Any, args: argparse.Namespace) -> int:
    bar = None if args.quiet else _progress_bar()
    try:
        report = assistant.ingest(args.paths, prune=args.prune, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        _print_report(report)
    return 1 if report.failed else 0


class _progress_bar:
    """A tqdm bar on stderr showing articles/s, fed by ingest's progress callback."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(unit=" articles", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def __call__(self, done: int, total: int | None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def _print_report(report: Any) -> None:
    print(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}, failed {len(report.failed)}; "
        f"{report.chunks} chunks written in {report.seconds:.1f} s"
    )
    for w in report.warnings:
        print(f"  warning: {w.file}: {w.reason}")
    for f in report.failed:
        print(f"  failed: {f.file}: {f.reason}")


def _cmd_stats(assistant: Any, args: argparse.Namespace) -> int:
    stats = assistant.stats()
    if args.json:
        print(json.dumps(stats.to_json()))
        return 0
    print(f"{stats.articles} articles, {stats.chunks} chunks")
    print(f"published {stats.first_published or '?'} to {stats.last_published or '?'}")
    for outlet, n in list(stats.outlets.items())[:20]:
        print(f"  {n:6d}  {outlet or '(no url)'}")
    if len(stats.outlets) > 20:
        print(f"  ... and {len(stats.outlets) - 20} more outlets")
    return 0


def _cmd_ask(assistant: Any, args: argparse.Namespace) -> int:
    from assistant.types import Answer, Filters

    filters = Filters(since=args.since, until=args.until, outlets=tuple(args.outlet))
    result = None
    for piece in assistant.stream_answer(args.question, as_of=args.as_of, filters=filters):
        if isinstance(piece, Answer):
            result = piece
        elif not args.json:
            print(piece, end="", flush=True)
    assert result is not None
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print()
    _print_sources(result)
    return 0


def _print_sources(result: Any) -> None:
    if result.date_window is not None:
        w = result.date_window
        print(f"\n(searched articles published {w.start or '...'} to {w.end or '...'})")
    if not result.grounded and not result.refused:
        print("\n(no citation: this answer could not be traced to a source; check the passages)")
    if result.citations:
        print("\nSources:")
    for c in result.citations:
        date = c.published_date.isoformat() if c.published_date else "undated"
        print(f"  [{c.n}] {c.title} - {c.outlet}, {date}\n      {c.url}")
    t = result.timings
    print(f"\n({t.get('total_s', 0):.1f} s; first token {t.get('first_token_s', 0):.1f} s)")


def _cmd_eval(assistant: Any, args: argparse.Namespace) -> int:
    from assistant.eval import run_eval

    result = run_eval(assistant, args.path, limit=args.limit,
                      retrieval_only=args.retrieval_only, baselines=not args.no_baselines,
                      absent=not args.no_absent, progress=not args.json)
    if args.answers:
        args.answers.write_text("".join(json.dumps(a) + "\n" for a in result.answers))
    print(json.dumps(result.to_json()) if args.json else result.table())
    return 0


_COMMANDS = {"ingest": _cmd_ingest, "stats": _cmd_stats, "ask": _cmd_ask, "eval": _cmd_eval,
             "model-path": _cmd_model_path}

if __name__ == "__main__":
    raise SystemExit(main())
