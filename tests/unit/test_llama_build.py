"""scripts/llama_build.py: which llama.cpp build fits which CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_build.py"
_spec = importlib.util.spec_from_file_location("llama_build", _SCRIPT)
llama_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(llama_build)

AVX2 = {"fpu", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
AVX512 = AVX2 | {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
ZEN4 = AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16", "avx512ifma"}
SAPPHIRE_RAPIDS = ZEN4 | {"amx_tile", "amx_int8", "amx_bf16", "avx_vnni"}

# What the two builds measured here printed (llama_print_system_info, 0.3.36).
AVX2_BUILD = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 "
              "| LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
ZEN4_BUILD = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 "
              "| AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 "
              "| LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")


@pytest.mark.parametrize(("flags", "wanted"), [
    (set(), set()),
    (AVX2, set()),
    (AVX2 | {"avx512f"}, set()),  # AVX-512 foundation alone is not what ggml compiles for
    (AVX512, {"AVX512"}),
    (ZEN4, {"AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"}),
    (SAPPHIRE_RAPIDS, {"AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"}),
])
def test_features_follow_the_cpu(flags, wanted):
    assert llama_build.wanted_features(flags) == wanted


def test_amx_is_never_built_even_where_the_cpu_has_it():
    args = llama_build.cmake_args(SAPPHIRE_RAPIDS).split()
    assert "-DGGML_NATIVE=OFF" in args
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert not [a for a in args if a.startswith("-DGGML_AMX") and a.endswith("=ON")]
    assert "-DGGML_AVX512_VNNI=ON" in args


def test_an_avx2_cpu_gets_the_portable_build():
    args = llama_build.cmake_args(AVX2).split()
    assert "-DGGML_AVX2=ON" in args
    assert not [a for a in args if a.startswith("-DGGML_AVX512")]


@pytest.mark.parametrize(("info", "features"), [
    (AVX2_BUILD, set()),
    (ZEN4_BUILD, {"AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"}),
    ("CPU : AVX512 = 0 | AVX2 = 1 |", set()),
])
def test_built_features_read_from_system_info(info, features):
    assert llama_build.built_features(info) == features


def test_an_avx2_build_does_not_fit_an_avx512_cpu_and_back():
    assert llama_build.built_features(AVX2_BUILD) != llama_build.wanted_features(ZEN4)
    assert llama_build.built_features(ZEN4_BUILD) != llama_build.wanted_features(AVX2)
    assert llama_build.built_features(ZEN4_BUILD) == llama_build.wanted_features(ZEN4)


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f\n\n"
                       "processor\t: 1\nflags\t\t: fpu avx2 avx512f\n")
    assert llama_build.cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512f"}
    assert llama_build.cpu_flags(tmp_path / "missing") == set()
