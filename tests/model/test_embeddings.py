"""The embedding cache answers repeated texts without the model, and gives the same vectors."""

from __future__ import annotations

import numpy as np

from service.model.embeddings import CachingEmbedder, FakeEmbedder


def test_repeated_texts_are_embedded_once_and_come_back_identical() -> None:
    inner = FakeEmbedder()
    cached = CachingEmbedder(inner, size=3)
    first = cached.embed_batch(["a b", "c d", "a b"])
    again = cached.embed_batch(["c d", "a b"])
    assert inner.calls == [["a b", "c d"]]
    np.testing.assert_array_equal(first[0], again[1])
    np.testing.assert_array_equal(first, inner.embed_batch(["a b", "c d", "a b"]))
    assert cached.fingerprint == inner.fingerprint


def test_the_least_recently_used_text_is_evicted() -> None:
    inner = FakeEmbedder()
    cached = CachingEmbedder(inner, size=2)
    cached.embed_batch(["one", "two"])
    cached.embed_batch(["one"])
    cached.embed_batch(["three"])
    cached.embed_batch(["one", "two"])
    assert inner.calls[-1] == ["two"], "'two' was least recently used"
