"""Which words of a query are so common in the index that searching them costs more than it tells.

FTS5 scores every chunk that holds any query term, so a term found in a tenth of the chunks
makes a search walk a tenth of the index, and BM25 gives it little weight anyway (its
inverse document frequency is low). Leaving such terms out of the query is a stopword
list that the collection computes for itself: "trump" in a year of US politics,
"police" in local news. The counts come from FTS5's own vocabulary (``fts5vocab``), and a
word is stemmed by FTS5 itself (a scratch in-memory FTS5 table with the index's
tokenizer), so the lookup sees exactly the terms the index holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = ["CommonTerms"]

_SCRATCH = """
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(body, tokenize='{tokenizer}');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_stems USING fts5vocab(temp, query_words, instance);
CREATE VIRTUAL TABLE IF NOT EXISTS temp.index_stems USING fts5vocab(main, {table}, row);
"""


class CommonTerms:
    """Splits query words into the selective ones and those in over ``max_share`` of chunks.

    Uses ``db`` (the caller holds its lock): the scratch tables live in its temp schema.
    """

    def __init__(self, db: sqlite3.Connection, table: str, tokenizer: str) -> None:
        self._db = db
        self._scratch = _SCRATCH.format(table=table, tokenizer=tokenizer)
        self._ready = False

    def document_counts(self, words: Sequence[str]) -> list[int]:
        """For each word, the number of chunks holding it (its rarest stem, if it has several)."""
        db = self._db
        if not self._ready:
            db.executescript(self._scratch)
            self._ready = True
        db.execute("DELETE FROM temp.query_words")
        db.executemany("INSERT INTO temp.query_words(rowid, body) VALUES (?, ?)",
                       [(i, w) for i, w in enumerate(words)])
        stems = db.execute("SELECT doc, term FROM temp.query_stems").fetchall()
        db.execute("DELETE FROM temp.query_words")
        distinct = sorted({t for _, t in stems})
        counts = dict(db.execute(
            f"SELECT term, doc FROM temp.index_stems WHERE term IN ({','.join('?' * len(distinct))})",
            distinct,
        ).fetchall()) if distinct else {}
        per_word: dict[int, int] = {}
        for i, stem in stems:
            per_word[i] = min(per_word.get(i, counts.get(stem, 0)), counts.get(stem, 0))
        return [per_word.get(i, 0) for i in range(len(words))]

    def selective(self, words: Sequence[str], chunks: int, max_share: float, keep: int = 2) -> list[str]:
        """``words`` without those in over ``max_share`` of ``chunks``, keeping at least the
        ``keep`` rarest, so a question made only of common words still searches."""
        if max_share <= 0 or max_share >= 1 or chunks <= 0 or len(words) <= keep:
            return list(words)
        counts = self.document_counts(words)
        limit = max_share * chunks
        rarest = set(sorted(range(len(words)), key=lambda i: counts[i])[:keep])
        return [w for i, w in enumerate(words) if counts[i] <= limit or i in rarest]
