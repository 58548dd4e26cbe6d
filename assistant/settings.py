"""All settings in one typed object, read from ``ASSISTANT_*`` environment variables once.

Build one with ``Settings()`` (environment) or ``Settings(data_dir=...)`` (explicit values
win); pass it down. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import re

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "REPO_ROOT", "BUNDLED_ARTICLES", "PROMPTS_DIR"]

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_ARTICLES = REPO_ROOT / "data" / "articles"
PROMPTS_DIR = REPO_ROOT / "prompts"


def _default_data_dir() -> Path:
    return Path(user_data_dir("news-assistant", appauthor=False))


def _default_models_dir() -> Path:
    return Path(user_cache_dir("news-assistant", appauthor=False)) / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", frozen=True)

    # Where the index lives: never the source tree.
    data_dir: Path = Field(default_factory=_default_data_dir)
    collection: str = "news"
    # Set to use a Chroma server (chromadb.HttpClient) instead of the embedded store.
    chroma_url: str | None = None
    # How often (at most) a search first picks up what other processes ingested into the
    # same Chroma server, in seconds (index/store.py explains the shared manifest).
    index_sync_seconds: float = Field(default=2.0, ge=0)

    # Embeddings: "auto" picks bf16 weights where the CPU does bf16 natively, else fp32.
    embed_precision: Literal["auto", "bf16", "fp32"] = "auto"
    embed_batch_size: int = Field(default=64, ge=1)
    # Overlap between neighbouring chunks, in word pieces.
    chunk_overlap_tokens: int = Field(default=48, ge=0)

    # LLM: "local" is the bundled packaged GGUF; "gguf" any GGUF file by path;
    # "ollama" an Ollama server; "openai" any OpenAI-compatible endpoint; "fake" scripted.
    llm_backend: Literal["local", "gguf", "ollama", "openai", "fake"] = "local"
    llm_model: str = "qwen2.5-0.5b"
    llm_path: Path | None = None
    # Where packaged model parts are joined into one checked file (shared by all indexes).
    models_dir: Path = Field(default_factory=_default_models_dir)
    llm_url: str | None = None
    llm_api_key: str | None = None
    llm_context: int = Field(default=4096, ge=512)
    llm_max_tokens: int = Field(default=160, ge=16)
    llm_threads: int | None = None
    # Local GGUF models: flash attention brings the first word 5 to 7% sooner on the CPU,
    # but changes the replies in their last bits; on all 379 newsqa questions they were right
    # less often and refused less often when the answer was absent (BENCHMARKS.md): opt-in.
    llm_flash_attn: bool = False
    llm_timeout_s: float = Field(default=120.0, gt=0)

    # Retrieval
    top_k: int = Field(default=5, ge=1, le=20)
    candidates: int = Field(default=50, ge=5)
    # How much more a passage published on the question's day counts in the ranking than
    # an old one (half of that about 30 days back; assistant/retrieval.py, recency_boost).
    # 1 finds the week's story more often but, on all 379 newsqa questions, refused far
    # less often when the answer was absent (BENCHMARKS.md, "A stronger recency prior").
    retrieval_recency: float = Field(default=0.1, ge=0.0)
    # 1: every chunk is a source of its own (at most 2 per article). 2 or more: one source
    # per article, its best chunks joined. Joining finds more answers (hit@5 0.844 against
    # 0.768) but the bundled 0.5B model answers no better from five different articles
    # than from fewer, repeated ones, whether read together, with the best one at length,
    # or each alone (BENCHMARKS.md, "One source per article, the best read at length",
    # "Joined sources and longer passages, read alone"): an option, not the default.
    chunks_per_source: int = Field(default=1, ge=1, le=5)
    # Words of each passage the model reads: the sentences that share the question's words
    # (assistant/evidence.py). 0 shows whole passages. 100 puts the answer before the
    # model more often but answers no better (BENCHMARKS.md, "Joined sources and longer
    # passages, read alone").
    passage_words: int = Field(default=60, ge=0)
    # Query words found in more than this share of chunks are left out of the BM25 search
    # (index/common_terms.py): they cost the most and weigh the least. 0 keeps every word.
    lexical_common_share: float = Field(default=0.0, ge=0.0, lt=1.0)
    max_question_chars: int = Field(default=1000, ge=10)
    # An answer whose cited passages hold less than this share of the question's words
    # becomes "the articles don't say" (0 turns the check off). See BENCHMARKS.md.
    min_support: float = Field(default=0.4, ge=0.0, le=1.0)
    # An answer that cites no passage and is found in none: "refuse" says the articles
    # don't say; "mark" shows it flagged as unsourced. See BENCHMARKS.md.
    unsourced: Literal["refuse", "mark"] = "refuse"
    # A question that names its time ("this week", "in March") answered only from articles
    # published over a week before that window becomes "the articles don't say" (False
    # keeps such answers). See BENCHMARKS.md.
    date_check: bool = True
    # "each": the model reads the top passages one at a time, and the answer is chosen among
    # its replies, weighing each source's recency (assistant/reading.py). "together": it
    # reads them in one prompt and its answer streams. On all 379 newsqa questions "each"
    # answered right more often (0.338 against 0.296), refused more often when the answer
    # was absent, and was done sooner; the answer comes whole at the end. See BENCHMARKS.md,
    # "Each passage read alone".
    reading: Literal["together", "each"] = "each"
    # With reading="each": a source's weight falls by 1/e every this many days before the
    # question's window (or today), and an answer whose sources weigh under
    # reading_min_weight in all (0.3: one source over about 108 days old) is "the articles
    # don't say", unless reading_min_sources distinct articles give it (0: weight alone
    # decides). Together, 0.3 and 2 beat the former 0.1 and 0 on all three answer figures,
    # both on the 120 questions they were chosen on and on the other 259; see BENCHMARKS.md,
    # "Two articles agreeing, checked on the other 259 questions".
    reading_recency_days: float = Field(default=90.0, gt=0)
    reading_min_weight: float = Field(default=0.3, ge=0.0)
    reading_min_sources: int = Field(default=2, ge=0)
    # With reading="each": a reply whose answer is in its own source's headline counts
    # 1 + reading_headline times its recency in choosing among answers (not in whether
    # to answer). 1 gave 0.367 -> 0.391 accuracy on all 379 newsqa questions' kept
    # replies, refusals unchanged; see BENCHMARKS.md, "Answers their headlines give".
    reading_headline: float = Field(default=1.0, ge=0.0)
    # With reading="each": a reply counts 1 - n + n times the share of the question's other
    # words near its answer in its source (the answer's sentence and the one either side),
    # n = reading_nearness. 0.5 gained 4 right answers of 220 on kept replies and lost none;
    # see BENCHMARKS.md, "The answer near the question's words".
    reading_nearness: float = Field(default=0.5, ge=0.0, le=1.0)

    # App
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password"
    max_upload_mb: int = Field(default=50, ge=1)
    # Files taken from one upload; the rest are refused, each with a message.
    max_upload_files: int = Field(default=500, ge=1)
    llm_concurrency: int = Field(default=1, ge=1)
    articles: Path | None = None

    @field_validator("data_dir", "models_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("collection", mode="after")
    @classmethod
    def _chroma_name(cls, value: str) -> str:
        # Chroma's rule for collection names, leaving room for the ".manifest" suffix.
        name = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,500}[A-Za-z0-9]", value)
        if name is None or ".." in value:
            raise ValueError(
                f"collection {value!r}: use 3 to 502 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_path(self) -> Path:
        return self.data_dir / f"{self.collection}.sqlite"
