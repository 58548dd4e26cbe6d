"""Ingestion benchmark: a fresh index of a whole article folder, then a second (no-op) run.

    .venv/bin/python benchmarks/ingest_bench.py ../shared/newsqa-2025/articles [--data-dir D]

Prints wall time, articles, chunks, chunks/s, peak RSS, index size on disk, the raw encode
throughput of the same embedder on a sample of 2,000 of the same chunks, the ratio of the
two, and the time of the second run over the unchanged folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _disk_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _sample_chunks(assistant, folder: Path, n: int) -> list[str]:
    from index.articles import discover, read_file
    from assistant.types import Article

    files, _ = discover([folder])
    random.Random(0).shuffle(files)
    texts: list[str] = []
    for path in files:
        for item in read_file(path):
            if isinstance(item, Article):
                texts.extend(c.embed_text for c in assistant.chunker.chunk(item))
        if len(texts) >= n:
            break
    return texts[:n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()

    from assistant import Assistant, Settings

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    if data_dir.exists():
        shutil.rmtree(data_dir)
    assistant = Assistant(Settings(data_dir=data_dir))

    started = time.perf_counter()
    report = assistant.ingest([args.folder])
    first = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.perf_counter()
    again = assistant.ingest([args.folder])
    second = time.perf_counter() - started

    sample = _sample_chunks(assistant, args.folder, args.sample)
    encode = assistant.embeddings.encode_array
    encode(sample[:64])  # warm-up
    started = time.perf_counter()
    encode(sample)
    raw = len(sample) / (time.perf_counter() - started)

    rate = report.chunks / first
    figures = {
        "articles": report.added, "failed": len(report.failed), "chunks": report.chunks,
        "wall_s": round(first, 1), "chunks_per_s": round(rate, 1),
        "raw_encode_chunks_per_s": round(raw, 1), "ingest_to_raw": round(rate / raw, 3),
        "precision": assistant.embeddings.precision, "peak_rss_mb": round(rss_mb),
        "index_mb": round(_disk_size(data_dir) / 2**20, 1),
        "second_run_s": round(second, 2), "second_run_unchanged": again.unchanged,
        "second_to_first": round(second / first, 4), "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if args.data_dir is None:
        shutil.rmtree(data_dir)
    sys.exit(0)


if __name__ == "__main__":
    main()
