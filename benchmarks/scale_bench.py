"""Retrieval latency as the index grows: 10k, 100k, 1M chunks; embedded or server mode.

    .venv/bin/python benchmarks/scale_bench.py ../shared/newsqa-2025/articles \
        [--sizes 10000,100000,1000000] [--chroma-url http://127.0.0.1:8765] [--data-dir D]

Embedding a million chunks with MiniLM would take a day on two cores, so the chunks are
synthetic but built from the real articles: ``--seed-chunks`` real chunks (default 2,000)
are chunked and embedded for real, and each synthetic chunk is one of them with its
sentences shuffled and its vector moved by Gaussian noise (so the vectors keep the
corpus's clusters) under a new article id and date. The index is grown step by step to
each size, through ``ChunkStore.write`` (so Chroma, the manifest and the FTS5 index are
all real), and at each size 100 real questions of newsqa-2025 are searched, dense (Chroma
HNSW) and lexical (SQLite FTS5 BM25): with no filter; as a question is asked (nothing
after its date, and with ``--common-share`` common words left out of BM25); and with a
one-quarter date filter. ``both`` is the two searches one after the other, ``hybrid`` the
two at once as retrieval runs them. Query vectors are embedded once beforehand: embedding
a query costs the same at every size. Prints one JSON line per size: p50/p95 in
milliseconds, and write throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def seed_chunks(folder: Path, n: int, assistant) -> list:
    from assistant.types import Article
    from index.articles import discover, read_file

    files, _ = discover([folder])
    random.Random(0).shuffle(files)
    chunks = []
    for path in files:
        for item in read_file(path):
            if isinstance(item, Article):
                chunks.extend(assistant.chunker.chunk(item))
        if len(chunks) >= n:
            return chunks[:n]
    return chunks


def synthetic(seed: list, vectors, count: int, start: int, rng):
    """``count`` synthetic articles of 10 chunks each, numbered from ``start``."""
    import numpy as np

    from assistant.types import Article, Chunk

    items, embeddings = [], []
    for a in range(start, start + count):
        picks = rng.integers(0, len(seed), 10)
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 730)))
        article = Article(id=f"syn{a:07d}", title=f"Synthetic story {a}", content="",
                          url=f"https://scale.test/{a}", published=day,
                          content_hash=f"h{a}", source=f"scale/{a}.txt")
        chunks = []
        for position, i in enumerate(picks):
            sentences = seed[i].text.split(". ")
            rng.shuffle(sentences)
            text = ". ".join(sentences)
            chunks.append(Chunk(id=f"{article.id}:content:{position}", article_id=article.id,
                                kind="content", position=position, text=text,
                                embed_text=f"{article.title} ({day})\n{text}", start=0,
                                end=len(text)))
            noisy = vectors[i] + rng.normal(0, 0.02, vectors.shape[1])
            embeddings.append(noisy / np.linalg.norm(noisy))
        items.append((article, chunks))
    return items, np.asarray(embeddings, dtype=np.float32)


def percentiles(samples: list[float]) -> dict:
    from assistant.eval import percentile

    return {"p50_ms": round(1000 * percentile(samples, 50), 1),
            "p95_ms": round(1000 * percentile(samples, 95), 1)}


class _Vectors:
    """The retriever's embedder, answering with the query vectors embedded beforehand."""

    def __init__(self, questions: list[str], vectors) -> None:
        self.by_question = dict(zip(questions, vectors))

    def embed_query(self, question: str):
        return self.by_question[question]


def measure(store, questions: list[str], vectors, common_share: float) -> dict:
    from assistant.retrieval import HybridRetriever
    from assistant.types import Filters

    # Both searches of a question at once, as retrieval runs them.
    retriever = HybridRetriever(store, _Vectors(questions, vectors), candidates=50)

    variants = (
        ("", Filters(), 0.0),
        # What every question searches: nothing published after its as_of (here 2025-06-30,
        # three quarters of the synthetic dates), with common query words left out.
        ("_asked", Filters(until=dt.date(2025, 6, 30)), common_share),
        ("_dated", Filters(since=dt.date(2025, 1, 1), until=dt.date(2025, 3, 31)), 0.0),
    )
    out = {}
    for name, filters, share in variants:
        store.common_share = share
        dense, lexical, hybrid = [], [], []
        # One untimed pass first: each timed pass then finds the same warm caches, so
        # neither gains from the other having just searched the same question.
        for question, vector in zip(questions, vectors):
            store.dense_search(vector, 50, filters)
            store.lexical_search(question, 50, filters)
        for question, vector in zip(questions, vectors):
            t = time.perf_counter()
            retriever._search(vector, question, [filters])
            hybrid.append(time.perf_counter() - t)
        for question, vector in zip(questions, vectors):
            t = time.perf_counter()
            store.dense_search(vector, 50, filters)
            dense.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.lexical_search(question, 50, filters)
            lexical.append(time.perf_counter() - t)
        both = [d + lex for d, lex in zip(dense, lexical)]
        out |= {f"dense{name}": percentiles(dense), f"lexical{name}": percentiles(lexical),
                f"both{name}": percentiles(both), f"hybrid{name}": percentiles(hybrid)}
    return out


def main() -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=Path)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seed-chunks", type=int, default=2000)
    parser.add_argument("--chroma-url")
    parser.add_argument("--data-dir", type=Path,
                        help="index folder; an existing one grows from its current size")
    parser.add_argument("--common-share", type=float, default=0.05,
                        help="ASSISTANT_LEXICAL_COMMON_SHARE for the '_asked' searches")
    parser.add_argument("--questions", type=Path,
                        default=ROOT.parent / "shared" / "newsqa-2025" / "questions.jsonl")
    args = parser.parse_args()

    from assistant import Assistant, Settings
    from index.store import ChunkStore

    data = args.data_dir or Path(tempfile.mkdtemp(prefix="scale-"))
    assistant = Assistant(Settings(data_dir=data / "seed"))
    seed = seed_chunks(args.articles, args.seed_chunks, assistant)
    vectors = np.asarray(assistant.embeddings.embed_documents([c.embed_text for c in seed]),
                         dtype=np.float32)
    lines = [json.loads(x) for x in args.questions.read_text().splitlines() if x.strip()]
    questions = [q["question"] for q in random.Random(1).sample(lines, 100)]
    query_vectors = [assistant.embeddings.embed_query(q) for q in questions]

    store = ChunkStore(data / "index", "scale", chroma_url=args.chroma_url, sync_seconds=3600)
    rng = np.random.default_rng(0)
    articles = len(store.manifest())  # synthetic ids continue where an earlier run stopped
    for size in sorted(int(s) for s in args.sizes.split(",")):
        wrote, started = 0, time.perf_counter()
        while store.count_chunks() < size:
            items, emb = synthetic(seed, vectors, 100, articles, rng)
            store.write(items, emb)
            articles += 100
            wrote += len(emb)
        write_s = time.perf_counter() - started
        row = {"chunks": store.count_chunks(), "mode": "server" if args.chroma_url else "embedded",
               "write_chunks_per_s": round(wrote / write_s, 1) if wrote else None,
               **measure(store, questions, query_vectors, args.common_share)}
        print(json.dumps(row), flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
