"""How to build llama-cpp-python for this CPU, and whether the installed build fits it.

    python scripts/llama_build.py flags   # prints the CMAKE_ARGS for this machine
    python scripts/llama_build.py check   # exit 0 if the installed llama_cpp fits this CPU

llama.cpp's native build (``-march=native``) turns on AMX where the CPU has it, and its
AMX matrix code segfaults on these machines (ggml-org/llama.cpp#20824). A portable AVX2
build runs anywhere but reads prompts 1.5x slower than AVX-512 where the CPU has that
(BENCHMARKS.md, "llama.cpp built for the CPU"). So the build names each feature itself:
AVX2 as the floor, the AVX-512 extensions the CPU reports, AMX never.

``check`` imports llama_cpp in a child process (a build for another CPU can die on
import) and compares the features it was built with to the ones wanted here, so that a
.venv from before this script, or one moved to another machine, is rebuilt. When
``CMAKE_ARGS`` is set the person running setup chose the build (a GPU one, say): then only
whether it imports counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["built_features", "cmake_args", "cpu_flags", "wanted_features"]

_FLOOR = ["-DGGML_NATIVE=OFF", "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON",
          "-DGGML_F16C=ON", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
# ggml's AVX512 option compiles with -mavx512f/cd/vl/dq/bw, so the CPU needs all five.
_AVX512_BASE = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
# llama.cpp's name for a feature (its CMake option is GGML_<name>, its system-info key
# <name>) and the /proc/cpuinfo flag that says the CPU has it.
_AVX512_EXTENSIONS = {"AVX512_VBMI": "avx512vbmi", "AVX512_VNNI": "avx512_vnni",
                      "AVX512_BF16": "avx512_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags as Linux reports them; empty where it does not (macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def wanted_features(flags: set[str]) -> set[str]:
    """The optional llama.cpp features (beyond the AVX2 floor) to build for these flags."""
    if not _AVX512_BASE <= flags:
        return set()
    return {"AVX512"} | {name for name, flag in _AVX512_EXTENSIONS.items() if flag in flags}


def cmake_args(flags: set[str]) -> str:
    """CMAKE_ARGS for a llama-cpp-python build that uses what these flags offer, AMX aside."""
    optional = sorted(wanted_features(flags))
    return " ".join(_FLOOR + [f"-DGGML_{name}=ON" for name in optional])


def built_features(system_info: str) -> set[str]:
    """The optional features a llama.cpp build reports in ``llama_print_system_info``."""
    known = {"AVX512", *_AVX512_EXTENSIONS}
    pairs = (item.split("=") for item in system_info.replace("CPU :", "").split("|"))
    return {key.strip() for key, *value in pairs
            if key.strip() in known and value and value[0].strip() == "1"}


def _installed_system_info() -> str | None:
    probe = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False)
    return done.stdout if done.returncode == 0 else None


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "flags":
        print(cmake_args(cpu_flags()))
        return 0
    if command == "check":
        info = _installed_system_info()
        if info is None:
            return 1
        if os.environ.get("CMAKE_ARGS"):
            return 0
        return 0 if built_features(info) == wanted_features(cpu_flags()) else 1
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
