"""The bundled MiniLM embedder (slow: loading sentence-transformers takes a while on one thread)."""

import numpy as np
import pytest

from labkit.llm import Embedder


@pytest.mark.slow
def test_embedder_is_offline_normalised_and_sensible():
    emb = Embedder()
    v = emb.encode(["reach the goal", "go to the target", "bake a cake"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = emb.similarity(["reach the goal"], ["go to the target", "bake a cake"])
    assert sim.shape == (1, 2) and sim[0, 0] > sim[0, 1]
    assert Embedder().model is emb.model  # cached per process


def test_embedder_rejects_bad_input():
    with pytest.raises(ValueError):
        Embedder().encode([])
