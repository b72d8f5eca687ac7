"""The batching embedder coalesces concurrent callers into few model calls without changing any answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pytest

from service.classifier import Classifier, ClassifierHead, Provenance
from service.config import Settings
from service.cues import CUE_COUNT
from service.engine import build_engine, load_embedded_classifier
from service.errors import ModelStopped
from service.features import FEATURE_SET, NgramVocabulary
from service.model.embeddings import (
    CachingEmbedder,
    FakeEmbedder,
    SentenceTransformerEmbedder,
    Vectors,
    model_fingerprint,
    packaged_model_path,
)
from service.model.pool import BatchingEmbedder
from service.taxonomy import KIND_ORDER

# Long enough never to expire in a test: a batch that waits for it has a bug, and result() times out first.
NEVER_S = 60.0
ANSWER_TIMEOUT_S = 10.0


class RecordingEncoder(FakeEmbedder):
    """The fake as an `Encoder`, recording the thread of each call and the cores it was given, and failing
    any call that holds "poison"."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []
        self.cores: list[int] = []

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors:
        self.threads.append(threading.current_thread())
        self.cores.append(threads)
        if "poison" in texts:
            self.calls.append(list(texts))
            raise ValueError("the model cannot embed 'poison'")
        return self.embed_batch(texts)


class InProcess:
    """The real model as an `Encoder`, in this process (the thread count is torch's own here)."""

    def __init__(self, model: SentenceTransformerEmbedder) -> None:
        self.model = model
        self.fingerprint = model.fingerprint

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors:
        return self.model.embed_batch(texts)


@pytest.fixture
def callers() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        yield pool


def _concurrently(
    pool: ThreadPoolExecutor, embedder: BatchingEmbedder, calls: list[list[str]]
) -> list[Vectors]:
    futures: list[Future[Vectors]] = [pool.submit(embedder.embed_batch, texts) for texts in calls]
    return [future.result(timeout=ANSWER_TIMEOUT_S) for future in futures]


def _assert_each_got_its_own(calls: list[list[str]], answers: list[Vectors]) -> None:
    """Each caller's vectors are the fake's for its own texts, in its order."""
    for texts, vectors in zip(calls, answers, strict=True):
        np.testing.assert_array_equal(vectors, FakeEmbedder().embed_batch(texts))


def test_concurrent_callers_share_one_model_call_and_get_their_own_vectors(
    callers: ThreadPoolExecutor,
) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=NEVER_S, max_batch=8)
    calls = [
        ["close 20 deals"],
        ["run a workshop", "read a book"],
        ["ship v2", "hire two", "learn go"],
        ["x y z", "mentor one junior"],
    ]
    answers = _concurrently(callers, batching, calls)
    assert len(inner.calls) == 1, "the 4 callers' 8 texts fill exactly one batch"
    assert sorted(inner.calls[0]) == sorted(text for texts in calls for text in texts)
    _assert_each_got_its_own(calls, answers)
    batching.close()


def test_a_text_two_callers_send_at_once_is_embedded_once(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=NEVER_S, max_batch=3)
    answers = _concurrently(callers, batching, [["same goal"], ["same goal"], ["other goal"]])
    assert sorted(inner.calls[0]) == ["other goal", "same goal"]
    np.testing.assert_array_equal(answers[0], answers[1])
    np.testing.assert_array_equal(answers[2], FakeEmbedder().embed_batch(["other goal"]))
    batching.close()


def test_no_model_call_exceeds_the_maximum_batch(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=0.0, max_batch=4)
    calls = [[f"goal {i} part {j}" for j in range(size)] for i, size in enumerate([1, 9, 3, 4, 2, 6, 1, 5])]
    answers = _concurrently(callers, batching, calls)
    assert max(len(call) for call in inner.calls) <= 4
    _assert_each_got_its_own(calls, answers)
    batching.close()


def test_full_batches_go_without_waiting_for_the_window(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=NEVER_S, max_batch=4)
    _concurrently(callers, batching, [[f"goal {i}"] for i in range(8)])
    assert [len(call) for call in inner.calls] == [4, 4]
    batching.close()


def test_a_failing_text_fails_only_its_own_caller(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=NEVER_S, max_batch=4)
    calls = [["fine one"], ["poison"], ["fine two", "fine three"]]
    futures = [callers.submit(batching.embed_batch, texts) for texts in calls]
    with pytest.raises(ValueError, match="cannot embed 'poison'"):
        futures[1].result(timeout=ANSWER_TIMEOUT_S)
    for index in (0, 2):
        vectors = futures[index].result(timeout=ANSWER_TIMEOUT_S)
        np.testing.assert_array_equal(vectors, FakeEmbedder().embed_batch(calls[index]))
    assert len(inner.calls[0]) == 4, "one batch first; each caller alone only after it failed"
    batching.close()


def test_an_empty_call_answers_at_once_without_the_queue(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=NEVER_S, max_batch=4)
    (vectors,) = _concurrently(callers, batching, [[]])
    assert vectors.shape == (0, inner.dim)


def test_close_stops_the_worker_and_a_later_call_starts_a_new_one() -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=0.0, max_batch=4)
    batching.embed_batch(["before"])
    first_worker = inner.threads[-1]
    batching.close()
    assert not first_worker.is_alive()
    np.testing.assert_array_equal(batching.embed_batch(["after"]), FakeEmbedder().embed_batch(["after"]))
    second_worker = inner.threads[-1]
    assert second_worker is not first_worker
    batching.close()
    assert not second_worker.is_alive()


class SlowEncoder(RecordingEncoder):
    """Takes a little while, counting in `busy` the cores all such encoders hold at once."""

    def __init__(self, busy: list[int], lock: threading.Lock) -> None:
        super().__init__()
        self.busy, self.lock, self.most = busy, lock, 0

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors:
        with self.lock:
            self.busy[0] += threads
            self.most = max(self.most, self.busy[0])
        threading.Event().wait(0.01)
        with self.lock:
            self.busy[0] -= threads
        return super().encode(texts, threads=threads)


def test_a_pool_shares_the_work_among_its_encoders_within_the_cores(callers: ThreadPoolExecutor) -> None:
    busy, lock = [0], threading.Lock()
    encoders = [SlowEncoder(busy, lock), SlowEncoder(busy, lock)]
    batching = BatchingEmbedder(encoders, cores=2, window_s=0.0, max_batch=2)
    calls = [[f"goal {i}"] for i in range(40)]
    answers = _concurrently(callers, batching, calls)
    _assert_each_got_its_own(calls, answers)
    assert all(encoder.calls for encoder in encoders), "both encoders took batches"
    assert max(encoder.most for encoder in encoders) <= 2, "never more threads than cores"
    assert 1 in encoders[0].cores + encoders[1].cores, "under load each encodes with its share"
    batching.close()
    assert not any(thread.is_alive() for encoder in encoders for thread in encoder.threads)


def test_lone_calls_go_to_the_encoder_used_last_and_try_both_widths() -> None:
    encoders = [RecordingEncoder(), RecordingEncoder()]
    batching = BatchingEmbedder(encoders, cores=2, window_s=0.0)
    for i in range(10):
        batching.embed_batch([f"goal {i}"])
        _until_idle(batching, workers=2)
    used = [encoder for encoder in encoders if encoder.calls]
    assert len(used) == 1, "the warm model process takes every lone request"
    assert used[0].cores[:2] == [1, 2], "one core, then both, before either width is known"
    batching.close()


def _until_idle(batching: BatchingEmbedder, *, workers: int) -> None:
    """Wait for the state between two requests: the worker that answered has gone back to waiting."""
    for _ in range(5000):
        if batching.idle_workers == workers:
            return
        threading.Event().wait(0.001)
    raise AssertionError(f"{workers} workers never went idle")


class StoppedEncoder(RecordingEncoder):
    """A model whose process has died: every call raises `ModelStopped`."""

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors:
        self.calls.append(list(texts))
        raise ModelStopped("The embedding model's process has stopped (exit code -9).")


def test_a_model_that_stops_leaves_its_batches_to_the_models_left(callers: ThreadPoolExecutor) -> None:
    dead, alive = StoppedEncoder(), RecordingEncoder()
    batching = BatchingEmbedder([dead, alive], cores=2, window_s=0.0, max_batch=2)
    calls = [[f"goal {i}"] for i in range(30)]
    _assert_each_got_its_own(calls, _concurrently(callers, batching, calls))
    assert len(dead.calls) <= 1, "a stopped model is asked once, then left out"
    batching.close()
    batching.embed_batch(["after a restart of the workers"])
    assert len(dead.calls) <= 1


def test_once_no_model_is_left_every_call_fails_at_once(callers: ThreadPoolExecutor) -> None:
    batching = BatchingEmbedder([StoppedEncoder(), StoppedEncoder()], cores=2, window_s=0.0, max_batch=2)
    futures = [callers.submit(batching.embed_batch, [f"goal {i}"]) for i in range(10)]
    for future in futures:
        with pytest.raises(ModelStopped, match="exit code -9"):
            future.result(timeout=ANSWER_TIMEOUT_S)
    with pytest.raises(ModelStopped):
        batching.embed_batch(["later"])
    with pytest.raises(ModelStopped):
        batching.embed_batch([])


def test_encoders_of_different_models_are_refused() -> None:
    with pytest.raises(ValueError, match="same model"):
        BatchingEmbedder([RecordingEncoder(), RecordingEncoder(), FakeEncoderOfOtherModel()], cores=2)


class FakeEncoderOfOtherModel(RecordingEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.dim = 32


def _fake_classifier(embedder: CachingEmbedder, dim: int) -> Classifier:
    """A classifier over the fake embedder with an all-zero head: enough to exercise the wiring."""
    width = dim + CUE_COUNT
    head = ClassifierHead(
        feature_set=FEATURE_SET,
        ngrams=NgramVocabulary(terms=[], idf=[]),
        classes=list(KIND_ORDER),
        weights=[[0.0] * width for _ in KIND_ORDER],
        bias=[0.0] * len(KIND_ORDER),
        temperature=1.0,
        likely_from=0.5,
        provenance=Provenance(
            embedder=embedder.fingerprint,
            data_sha256="",
            train_size=0,
            regularisation_c=1.0,
            cv_macro_f1=0.0,
            dev_macro_f1=0.0,
            likely_accuracy=0.0,
            likely_share=0.0,
            trained_at="",
            sklearn_version="",
        ),
    )
    return Classifier(embedder=embedder, head=head)


async def test_closing_the_engine_stops_the_embedding_worker(settings: Settings) -> None:
    inner = RecordingEncoder()
    batching = BatchingEmbedder([inner], cores=1, window_s=0.0)
    classifier = _fake_classifier(CachingEmbedder(batching), inner.dim)
    engine = build_engine(settings, classifier=classifier, llm=None)
    await engine.cascade.classify("Close 20 deals per month")
    worker = inner.threads[-1]
    assert worker.is_alive()
    await engine.aclose()
    assert not worker.is_alive()


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_batched_model_vectors_match_one_at_a_time(
    model: SentenceTransformerEmbedder, callers: ThreadPoolExecutor
) -> None:
    goals = [
        "Close 20 deals per month",
        "be a better leader",
        "read one industry report a week",
        "get promoted",
    ]
    batching = BatchingEmbedder([InProcess(model)], cores=1, window_s=NEVER_S, max_batch=len(goals))
    answers = _concurrently(callers, batching, [[goal] for goal in goals])
    for goal, vectors in zip(goals, answers, strict=True):
        # Padding to the batch's longest sentence changes the float rounding, nothing more.
        np.testing.assert_allclose(vectors, model.embed_batch([goal]), atol=1e-6)
    batching.close()


class StartedModel(RecordingEncoder):
    """Stands in for a `ModelProcess` of the packaged model, recording how many were started."""

    started: ClassVar[list[StartedModel]] = []

    def __init__(self, model_path: object = None, *, threads: int = 0) -> None:
        super().__init__()
        self.dim = 384
        StartedModel.started.append(self)

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(packaged_model_path())


def test_the_torch_engine_starts_the_model_processes_and_cores_the_settings_ask_for(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[BatchingEmbedder] = []

    class Built(BatchingEmbedder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr("service.engine.ModelProcess", StartedModel)
    monkeypatch.setattr("service.engine.BatchingEmbedder", Built)
    StartedModel.started = []
    chosen = settings.model_copy(update={"encoder": "torch", "model_processes": 3, "model_cores": 2})
    classifier = load_embedded_classifier(chosen)
    assert len(StartedModel.started) == 3
    for goal in ("Close 20 deals per month", "Learn to run a retro", "Ship the report every Friday"):
        classifier.classify(goal)
        _until_idle(built[0], workers=3)
    cores = [count for model in StartedModel.started for count in model.cores]
    assert cores[:2] == [1, 2], "each has one of the 2 cores under load; a lone batch may take both"
    classifier.embedder.close()
