"""Hybrid retrieval built for news: dense + BM25, fused, time-aware, without duplicates.

1. The question's time words become a published-date window or a recency preference
   (``assistant.timewords``); nothing published after ``as_of`` is ever retrieved.
2. Dense (MiniLM in Chroma) and lexical (BM25 in SQLite FTS5) candidates are fused by
   reciprocal rank: dense finds paraphrases, BM25 finds names, numbers and rare words.
3. Among near-equals, articles nearer to ``as_of`` win (a mild prior; a strong one when
   the question asks for the latest news).
4. Near-duplicate passages (wire copies, the same story from two outlets) collapse into
   the best-placed one, which lists the others as also reporting it.
5. Optionally (``ASSISTANT_CHUNKS_PER_SOURCE``), one source per article: its best
   ``per_article`` chunks are joined, in text order, into one passage placed where its
   best chunk was. A story's answer is often a chunk or two away from the chunk that
   matches the question best, and five sources that are five articles cover more than
   five chunks of two. The model still reads only the question's sentences of each
   (``assistant.evidence``), so its prompt does not grow.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

from assistant.terms import content_terms
from assistant.timewords import TimeIntent, resolve, strip_time_words
from assistant.types import DateWindow, Filters, Passage

__all__ = [
    "HybridRetriever", "Retrieval", "rrf_fuse", "collapse_duplicates", "join_by_article", "MODES",
]

MODES = ("hybrid", "dense", "lexical")
_RRF_K = 60
_WORDS = re.compile(r"\w+")
_KIND_ORDER = {"summary": 0, "highlights": 1, "content": 2}
_GAP = " ... "


class _Ranking(NamedTuple):
    """One search's passages, best first, and the weight its ranks carry in the fusion."""

    weight: float
    passages: list[Passage]


@dataclass(frozen=True)
class Retrieval:
    passages: tuple[Passage, ...]
    window: DateWindow | None
    intent: TimeIntent | None = None
    seconds: float = 0.0
    filters: Filters = field(default_factory=Filters)


def rrf_fuse(rankings: Sequence[Sequence[Passage]], weights: Sequence[float] | None = None) -> list[Passage]:
    """Reciprocal-rank fusion: score = sum of weight / (60 + rank) over the rankings."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    first: dict[str, Passage] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, passage in enumerate(ranking):
            scores[passage.chunk_id] = scores.get(passage.chunk_id, 0.0) + weight / (_RRF_K + rank + 1)
            first.setdefault(passage.chunk_id, passage)
    ordered = sorted(scores, key=lambda cid: -scores[cid])
    return [replace(first[cid], score=scores[cid]) for cid in ordered]


def _shingles(text: str, n: int = 4) -> frozenset[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return frozenset(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def _similar(a: frozenset, b: frozenset, threshold: float) -> bool:
    if not a or not b:
        return False
    overlap = len(a & b)
    # Containment rather than Jaccard: a short wire copy inside a longer rewrite is a copy.
    return overlap / min(len(a), len(b)) >= threshold


def collapse_duplicates(
    passages: Sequence[Passage], *, threshold: float = 0.6, per_article: int = 2
) -> list[Passage]:
    """Keep the first of each group of near-duplicates; it lists the others' articles."""
    kept: list[tuple[Passage, frozenset]] = []
    per: dict[str, int] = {}
    for passage in passages:
        sh = _shingles(passage.text)
        for i, (other, other_sh) in enumerate(kept):
            if _similar(sh, other_sh, threshold):
                if passage.article_id != other.article_id and passage.url not in {
                    u for _, _, u in other.also_reporting
                } and passage.url != other.url:
                    extra = (passage.title, passage.outlet, passage.url)
                    kept[i] = (replace(other, also_reporting=(*other.also_reporting, extra)), other_sh)
                break
        else:
            if per.get(passage.article_id, 0) >= per_article:
                continue
            per[passage.article_id] = per.get(passage.article_id, 0) + 1
            kept.append((passage, sh))
    return [p for p, _ in kept]


def join_by_article(passages: Sequence[Passage]) -> list[Passage]:
    """One passage per article, in the place of its best chunk: its chunks in text order."""
    groups: dict[str, list[Passage]] = {}
    for passage in passages:
        groups.setdefault(passage.article_id, []).append(passage)
    return [_joined(parts) for parts in groups.values()]


def _joined(parts: list[Passage]) -> Passage:
    if len(parts) == 1:
        return parts[0]
    best = parts[0]
    ordered = sorted(parts, key=lambda p: (_KIND_ORDER.get(p.kind, len(_KIND_ORDER)), p.start))
    text, last = ordered[0].text, ordered[0]
    for part in ordered[1:]:
        if part.kind == last.kind and part.start <= last.end:
            # Neighbouring chunks overlap by design: the shared text is shown once.
            text += part.text[last.end - part.start :]
        else:
            text = text.rstrip() + _GAP + part.text.lstrip()
        if part.kind != last.kind or part.end > last.end:
            last = part
    same_kind = [p for p in ordered if p.kind == best.kind]
    also = tuple(dict.fromkeys(a for p in parts for a in p.also_reporting))
    return replace(
        best, text=text, start=min(p.start for p in same_kind), end=max(p.end for p in same_kind),
        also_reporting=also, chunk_ids=tuple(p.chunk_id for p in ordered),
    )


def recency_boost(published: dt.date | None, as_of: dt.date, strength: float) -> float:
    """A multiplier in [1, 1 + strength]: 1 + strength today, half of that ~30 days back."""
    if published is None or strength <= 0:
        return 1.0
    age = max(0, (as_of - published).days)
    return 1.0 + strength * math.exp(-age / 45.0)


def _merge_filters(filters: Filters, window: DateWindow | None, as_of: dt.date) -> Filters:
    since = max((d for d in (filters.since, window and window.start) if d), default=None)
    until = min((d for d in (filters.until, window and window.end, as_of) if d), default=as_of)
    return replace(filters, since=since, until=until)


class HybridRetriever:
    """Turns a question into the top passages. ``mode`` 'dense'/'lexical' are baselines."""

    def __init__(
        self,
        store: Any,
        embeddings: Any,
        *,
        candidates: int = 50,
        mode: str = "hybrid",
        base_recency: float = 0.1,
        per_article: int = 2,
        join_articles: bool = False,
        use_window: bool = True,
        window_weight: float = 0.5,
        collapse: bool = True,
        strip_dense: bool = False,
        feedback: int = 0,
        feedback_dense: bool = True,
        feedback_terms: int = 0,
        # A question without time words searched again within its last ``recent_days``,
        # fused in at ``recent_weight``: off, as it finds the answer no more often than the mild
        # recency prior (BENCHMARKS.md, "The last month searched again").
        recent_days: int = 0,
        recent_weight: float = 0.5,
        # BM25's weight in the fusion, dense search's being 1: 1.5 and 0.67 moved hit@5 by
        # a few questions either way (BENCHMARKS.md, "BM25's weight in the fusion").
        lexical_weight: float = 1.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.store, self.embeddings = store, embeddings
        self.candidates, self.mode = candidates, mode
        self.base_recency, self.per_article = base_recency, per_article
        self.use_window, self.window_weight, self.collapse = use_window, window_weight, collapse
        self.join_articles = join_articles
        self.strip_dense = strip_dense
        self.feedback, self.feedback_dense = feedback, feedback_dense
        self.feedback_terms = feedback_terms
        self.recent_days, self.recent_weight = recent_days, recent_weight
        self.lexical_weight = lexical_weight

    @classmethod
    def from_settings(
        cls, store: Any, embeddings: Any, settings: Any, *, mode: str = "hybrid"
    ) -> HybridRetriever:
        joined = settings.chunks_per_source > 1
        return cls(
            store, embeddings, candidates=settings.candidates, mode=mode,
            base_recency=settings.retrieval_recency,
            per_article=settings.chunks_per_source if joined else 2, join_articles=joined,
        )

    def retrieve(
        self,
        question: str,
        *,
        k: int,
        as_of: dt.date,
        filters: Filters | None = None,
    ) -> Retrieval:
        started = time.perf_counter()
        filters = filters or Filters()
        if self.mode != "hybrid":  # plain baselines: no time words, prior or collapsing
            vector = self.embeddings.embed_query(question) if self.mode == "dense" else None
            [[ranking]] = self._search(vector, question, [_merge_filters(filters, None, as_of)])
            ranked = ranking.passages
            return Retrieval(tuple(ranked[:k]), None, None, time.perf_counter() - started, filters)
        intent = resolve(question, as_of)
        window = intent.window if self.use_window else None
        lexical_query = strip_time_words(question, intent)
        everything = _merge_filters(filters, None, as_of)
        within = [] if window is None else [_merge_filters(filters, window, as_of)]
        recent = self._recent(filters, as_of) if window is None else []
        dense_query = lexical_query if self.strip_dense else question
        vector = self.embeddings.embed_query(dense_query)
        filter_sets = [everything, *within, *recent]
        weights = [1.0, *[self.window_weight] * len(within), *[self.recent_weight] * len(recent)]
        found = self._search(vector, lexical_query, filter_sets)
        if within and not any(ranking.passages for ranking in found[1]):
            window = None
        strength = self.base_recency + intent.recency
        ranked = self._rank(found, weights, as_of, strength)
        if self.feedback:
            top = ranked[: self.feedback]
            moved = self._expanded(vector, top) if self.feedback_dense else None
            terms = self._expansion_terms(lexical_query, top) if self.feedback_terms else []
            if moved is not None or terms:
                more = f"{lexical_query} {' '.join(terms)}" if terms else None
                again = self._search(moved, more, filter_sets)
                ranked = self._rank([f + a for f, a in zip(found, again)], weights, as_of,
                                    strength)
        if self.join_articles:
            ranked = join_by_article(ranked)
        passages = ranked[:k]
        return Retrieval(tuple(passages), window, intent, time.perf_counter() - started, filters)

    def _recent(self, filters: Filters, as_of: dt.date) -> list[Filters]:
        """The filter set of the last ``recent_days`` (none when off)."""
        if not self.recent_days:
            return []
        days = DateWindow(as_of - dt.timedelta(days=self.recent_days), as_of)
        return [_merge_filters(filters, days, as_of)]

    def _rank(
        self, found: list[list[_Ranking]], weights: Sequence[float], as_of: dt.date,
        strength: float,
    ) -> list[Passage]:
        """One fused ranking of every search, the recency prior applied, duplicates collapsed.

        The window is a preference, not a wall: the passages of the second filter set (the
        window's) are ranked a second time within it, which lifts them, while a story dated
        just outside still competes.
        """
        fused = [(r.passages, w * r.weight) for w, per_set in zip(weights, found) for r in per_set]
        ranked = rrf_fuse([passages for passages, _ in fused], [w for _, w in fused])
        ranked.sort(key=lambda p: -p.score * recency_boost(p.published, as_of, strength))
        if self.collapse:
            ranked = collapse_duplicates(ranked, per_article=self.per_article)
        return ranked

    def _expanded(self, vector: Sequence[float], top: Sequence[Passage]) -> list[float] | None:
        """The query vector moved towards the first passages' (Rocchio's pseudo-relevance
        feedback): the words of the story the question describes, found by either search,
        let the dense side find its other passages, worded unlike the question."""
        vectors = self.store.vectors([p.chunk_id for p in top]) if top else []
        if not vectors:
            return None
        width = len(vector)
        mean = [sum(v[i] for v in vectors) / len(vectors) for i in range(width)]
        moved = [q + m for q, m in zip(vector, mean)]
        norm = math.sqrt(sum(x * x for x in moved)) or 1.0
        return [x / norm for x in moved]

    def _expansion_terms(self, query: str, top: Sequence[Passage]) -> list[str]:
        """The rarest words the first passages share, weighted by how much of each they make
        up (relevance-model expansion): the story's names, which the question may not use."""
        asked = set(content_terms(query))
        weight: dict[str, float] = {}
        for passage in top:
            words = [w for w in content_terms(passage.text) if w not in asked and len(w) > 2]
            for word in words:
                weight[word] = weight.get(word, 0.0) + 1.0 / len(words)
        rarity = self.store.term_rarity(list(weight))
        ranked = sorted(weight, key=lambda w: -weight[w] * rarity.get(w, 0.0))
        return ranked[: self.feedback_terms]

    def _search(
        self, vector: Sequence[float] | None, lexical_query: str | None, filter_sets: list[Filters]
    ) -> list[list[_Ranking]]:
        """For each filter set, its rankings (dense, then lexical), all searched at once.

        The overlap is partial: both searches spend most of their time in Python, holding
        the GIL, so at 100k chunks this saves 2 to 7% against one after the other
        (BENCHMARKS.md, "Dense and BM25 searched at once"). ``vector`` None: no dense search;
        ``lexical_query`` None: no BM25 search. Each ranking carries its fusion weight, so
        the searches that run and the weights they get are decided in this one place.
        """
        searches: list[tuple[float, Callable[[], list[Passage]]]] = []
        for filters in filter_sets:
            if vector is not None:
                searches.append(
                    (1.0, partial(self.store.dense_search, vector, self.candidates, filters))
                )
            if self.mode in ("hybrid", "lexical") and lexical_query is not None:
                searches.append((self.lexical_weight, partial(
                    self.store.lexical_search, lexical_query, self.candidates, filters
                )))
        if len(searches) == 1:
            results = [searches[0][1]()]
        else:
            with ThreadPoolExecutor(len(searches), thread_name_prefix="search") as pool:
                results = list(pool.map(lambda search: search[1](), searches))
        found = [_Ranking(weight, passages) for (weight, _), passages in zip(searches, results)]
        per_set = len(found) // len(filter_sets)
        return [found[i : i + per_set] for i in range(0, len(found), per_set)]
