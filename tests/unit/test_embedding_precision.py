"""Precision choice for the embedder: no model is loaded here."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from index.embedding import cpu_has_fast_bf16, resolve_precision


def test_cpuinfo_flags_decide_bf16(tmp_path: Path) -> None:
    with_bf16 = tmp_path / "bf16"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert cpu_has_fast_bf16(with_bf16)
    assert not cpu_has_fast_bf16(without)
    assert not cpu_has_fast_bf16(tmp_path / "absent")


def test_resolve_precision() -> None:
    assert resolve_precision("auto") == ("bf16" if cpu_has_fast_bf16() else "fp32")
    assert resolve_precision("bf16") == "bf16"
    assert resolve_precision("fp32") == "fp32"
    with pytest.raises(ConfigError, match="auto, bf16 or fp32"):
        resolve_precision("fp16")
