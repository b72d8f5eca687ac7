"""Vectors recorded at export answer a start's texts; the model is asked only for the others, and a file of
another model's vectors is not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.model.embeddings import FakeEmbedder
from service.model.known import KnownVectors, Recorder


def _recorded(folder: Path, texts: list[str], dim: int = 64) -> Path:
    recorder = Recorder(FakeEmbedder(dim))
    recorder.embed_batch(texts)
    return recorder.save(folder)


def test_recorded_texts_are_answered_without_the_model(tmp_path: Path) -> None:
    _recorded(tmp_path, ["coach two new hires", "review each shift's scrap"])
    model = FakeEmbedder()
    known = KnownVectors.around(model, tmp_path)
    vectors = known.embed_batch(
        ["review each shift's scrap", "a goal nobody recorded", "coach two new hires"]
    )
    assert model.calls == [["a goal nobody recorded"]]
    expected = FakeEmbedder().embed_batch(
        ["review each shift's scrap", "a goal nobody recorded", "coach two new hires"]
    )
    np.testing.assert_array_equal(vectors, expected)


def test_another_models_vectors_are_not_used(tmp_path: Path) -> None:
    _recorded(tmp_path, ["coach two new hires"], dim=32)
    model = FakeEmbedder(dim=64)
    assert KnownVectors.around(model, tmp_path) is model


def test_no_recorded_vectors_leaves_the_model_alone(tmp_path: Path) -> None:
    model = FakeEmbedder()
    assert KnownVectors.around(model, tmp_path) is model
