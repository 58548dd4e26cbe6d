"""Shared fixtures. Unit tests run on fakes; real model loads are blocked there."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "articles"
SEED = ROOT / "data" / "articles" / "000_460c06224ffb2416.txt"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _block_real_models(request, monkeypatch):
    """In unit tests, importing a real model runtime fails loudly instead of loading it."""
    if request.node.get_closest_marker("integration"):
        return
    for name in ("sentence_transformers", "llama_cpp", "torch"):
        if name not in sys.modules:
            monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module", autouse=True)
def _own_collection_on_a_shared_chroma_server(request):
    """Against a Chroma server (ASSISTANT_CHROMA_URL, as CI's second pass runs the
    suites), each test module gets a collection of its own, so tests that expect a fresh
    index get one; subprocesses inherit it through the environment."""
    if not os.environ.get("ASSISTANT_CHROMA_URL"):
        yield
        return
    import uuid

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSISTANT_COLLECTION", f"test-{uuid.uuid4().hex[:12]}")
        yield


@pytest.fixture
def settings(tmp_path):
    from assistant.settings import Settings

    # The scripted replies of most tests answer one prompt per question: the "together"
    # reading. "each" (the default) has its own tests, in tests/unit/test_reading.py.
    return Settings(data_dir=tmp_path / "data", llm_backend="fake", reading="together")


@pytest.fixture
def make_assistant(settings):
    """An Assistant on fakes: hashing embedder, word-count tokenizer, scripted LLM."""
    from assistant import Assistant
    from assistant.testing import HashingEmbeddings, ScriptedLLM, word_count_tokens

    made = []

    def make(llm=None, **overrides):
        s = settings.model_copy(update=overrides) if overrides else settings
        a = Assistant(s, embeddings=HashingEmbeddings(), count_tokens=word_count_tokens,
                      llm=llm or ScriptedLLM())
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


@pytest.fixture
def corpus(tmp_path):
    """A folder with the seed article and the hand-written fixtures, safe to modify."""
    import shutil

    folder = tmp_path / "articles"
    shutil.copytree(FIXTURES, folder)
    shutil.copy(SEED, folder)
    return folder
