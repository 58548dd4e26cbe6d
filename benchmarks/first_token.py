"""Time to the first word of the local model on real prompts, with and without flash attention.

    ASSISTANT_DATA_DIR=... .venv/bin/python benchmarks/first_token.py ../shared/newsqa-2025 [--limit 12] [--rounds 2] [--only WORD]

Builds each question's prompt as the chain does (retrieval, passage focus, template),
then for each llama.cpp variant loads the configured GGUF and times the stream to its
first non-empty piece: prompt processing, which is nearly all of the wait. Variants take
turns over ``--rounds`` so that a machine slowing down shows in both; ``--only default``
runs just those whose name holds that word. Prints one JSON line per variant and round:
whether the llama.cpp build uses AVX-512, prompt tokens, and first-token seconds (median
and mean). To compare builds, run it once with each build first on ``PYTHONPATH`` (see
scripts/llama_build.py). Run it alone on the machine: the other core's load changes these
figures by more than the variants do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.chain import AnswerChain
from assistant.eval import load_questions
from assistant.llm import load_llm
from assistant.types import Filters

VARIANTS = {"flash attention": {"llm_flash_attn": True},
            "no flash attention (default)": {"llm_flash_attn": False}}


def prompts(folder: Path, limit: int) -> list:
    chain = AnswerChain(Assistant(Settings(reading="together")))  # one prompt per question
    built = []
    for q in load_questions(folder, limit):
        as_of = dt.date.fromisoformat(q["question_date"])
        state = chain.prepare.invoke(chain._inputs(q["question"], as_of, Filters()))
        if state["prompt"][0] is not None:
            built.append(state["prompt"][0])
    return built


def first_token_seconds(llm, prompt) -> float:
    started = time.perf_counter()
    stream = llm.stream(prompt)
    try:
        for piece in stream:
            if piece:
                break
    finally:
        stream.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    variants = {n: v for n, v in VARIANTS.items() if args.only in n}
    built = prompts(args.folder, args.limit)
    import llama_cpp

    avx512 = "AVX512 = 1" in llama_cpp.llama_print_system_info().decode()
    for round_ in range(1, args.rounds + 1):
        for name, overrides in variants.items():
            llm = load_llm(Settings(**overrides))
            first_token_seconds(llm, built[0])  # the shared system prompt enters the cache
            seconds = [first_token_seconds(llm, p) for p in built]
            tokens = [llm.count_tokens(p.to_string()) for p in built]
            llm.close()
            print(json.dumps({
                "variant": name, "round": round_, "avx512": avx512, "prompts": len(built),
                "prompt_tokens_p50": statistics.median(tokens),
                "first_token_p50_s": round(statistics.median(seconds), 3),
                "first_token_mean_s": round(statistics.mean(seconds), 3),
            }), flush=True)


if __name__ == "__main__":
    main()
