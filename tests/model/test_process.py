"""The model's child process answers as the model does in-process, and its failures reach the caller."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from service.errors import ConfigError, ModelStopped
from service.model.embeddings import SentenceTransformerEmbedder
from service.model.process import ModelProcess

GOALS = ["Close 20 deals per month", "be a better leader", "read one industry report a week"]


@pytest.fixture(scope="module")
def child() -> Iterator[ModelProcess]:
    model = ModelProcess(threads=1)
    yield model
    model.close()


def test_the_child_embeds_as_the_model_does_in_process(child: ModelProcess) -> None:
    in_process = SentenceTransformerEmbedder()
    assert child.fingerprint == in_process.fingerprint
    np.testing.assert_allclose(child.embed_batch(GOALS), in_process.embed_batch(GOALS), atol=1e-6)


def test_the_child_encodes_alike_with_the_threads_each_call_asks_for(child: ModelProcess) -> None:
    np.testing.assert_allclose(child.encode(GOALS, threads=2), child.encode(GOALS, threads=1), atol=1e-6)
    np.testing.assert_allclose(child.embed_batch(GOALS), child.encode(GOALS, threads=2), atol=1e-6)


def test_an_error_in_the_child_is_raised_to_the_caller_and_the_child_goes_on(child: ModelProcess) -> None:
    with pytest.raises(ValueError, match="Unsupported input type"):
        child.embed_batch([123])  # type: ignore[list-item]
    assert child.embed_batch(GOALS[:1]).shape == (1, 384)


def test_a_missing_model_fails_at_start_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="GOAL_MODEL_PATH"):
        ModelProcess(Path("/nonexistent/model"))


def test_a_child_that_dies_makes_every_call_raise_model_stopped() -> None:
    model = ModelProcess(threads=1)
    os.kill(model.pid, signal.SIGKILL)
    with pytest.raises(ModelStopped, match="exit code -9"):
        model.embed_batch(GOALS)
    with pytest.raises(ModelStopped):
        model.embed_batch(GOALS)
    model.close()


def test_close_ends_the_child() -> None:
    model = ModelProcess(threads=1)
    pid = model.pid
    model.close()
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(ModelStopped, match="exit code 0"):
        model.embed_batch(GOALS)
