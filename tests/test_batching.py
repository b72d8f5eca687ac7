"""The batching embedder coalesces concurrent callers into few model calls without changing any answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from service.batching import BatchingEmbedder
from service.classifier import Classifier, ClassifierHead, Provenance
from service.config import Settings
from service.cues import CUE_COUNT
from service.embeddings import CachingEmbedder, FakeEmbedder, SentenceTransformerEmbedder, Vectors
from service.engine import build_engine
from service.features import FEATURE_SET, NgramVocabulary
from service.taxonomy import KIND_ORDER

# Long enough never to expire in a test: a batch that waits for it has a bug, and result() times out first.
NEVER_S = 60.0
ANSWER_TIMEOUT_S = 10.0


class RecordingEmbedder(FakeEmbedder):
    """The fake, recording the thread of each call and failing any call that holds "poison"."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        self.threads.append(threading.current_thread())
        if "poison" in texts:
            self.calls.append(list(texts))
            raise ValueError("the model cannot embed 'poison'")
        return super().embed_batch(texts)


@pytest.fixture
def callers() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        yield pool


def _concurrently(
    pool: ThreadPoolExecutor, embedder: BatchingEmbedder, calls: list[list[str]]
) -> list[Vectors]:
    futures: list[Future[Vectors]] = [pool.submit(embedder.embed_batch, texts) for texts in calls]
    return [future.result(timeout=ANSWER_TIMEOUT_S) for future in futures]


def test_concurrent_callers_share_one_model_call_and_get_their_own_vectors(
    callers: ThreadPoolExecutor,
) -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=NEVER_S, max_batch=8)
    calls = [
        ["close 20 deals"],
        ["run a workshop", "read a book"],
        ["ship v2", "hire two", "learn go"],
        ["x y z", "mentor one junior"],
    ]
    answers = _concurrently(callers, batching, calls)
    assert len(inner.calls) == 1, "the 4 callers' 8 texts fill exactly one batch"
    assert sorted(inner.calls[0]) == sorted(text for texts in calls for text in texts)
    for texts, vectors in zip(calls, answers, strict=True):
        np.testing.assert_array_equal(vectors, FakeEmbedder().embed_batch(texts))
    batching.close()


def test_a_text_two_callers_send_at_once_is_embedded_once(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=NEVER_S, max_batch=3)
    answers = _concurrently(callers, batching, [["same goal"], ["same goal"], ["other goal"]])
    assert sorted(inner.calls[0]) == ["other goal", "same goal"]
    np.testing.assert_array_equal(answers[0], answers[1])
    np.testing.assert_array_equal(answers[2], FakeEmbedder().embed_batch(["other goal"]))
    batching.close()


def test_no_model_call_exceeds_the_maximum_batch(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=0.0, max_batch=4)
    calls = [[f"goal {i} part {j}" for j in range(size)] for i, size in enumerate([1, 9, 3, 4, 2, 6, 1, 5])]
    answers = _concurrently(callers, batching, calls)
    assert max(len(call) for call in inner.calls) <= 4
    for texts, vectors in zip(calls, answers, strict=True):
        np.testing.assert_array_equal(vectors, FakeEmbedder().embed_batch(texts))
    batching.close()


def test_full_batches_go_without_waiting_for_the_window(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=NEVER_S, max_batch=4)
    _concurrently(callers, batching, [[f"goal {i}"] for i in range(8)])
    assert [len(call) for call in inner.calls] == [4, 4]
    batching.close()


def test_a_failing_text_fails_only_its_own_caller(callers: ThreadPoolExecutor) -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=NEVER_S, max_batch=4)
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
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=NEVER_S, max_batch=4)
    (vectors,) = _concurrently(callers, batching, [[]])
    assert vectors.shape == (0, inner.dim)


def test_close_stops_the_worker_and_a_later_call_starts_a_new_one() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_s=0.0, max_batch=4)
    batching.embed_batch(["before"])
    first_worker = inner.threads[-1]
    batching.close()
    assert not first_worker.is_alive()
    np.testing.assert_array_equal(batching.embed_batch(["after"]), FakeEmbedder().embed_batch(["after"]))
    second_worker = inner.threads[-1]
    assert second_worker is not first_worker
    batching.close()
    assert not second_worker.is_alive()


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
        provenance=Provenance(
            embedder=embedder.fingerprint,
            data_sha256="",
            train_size=0,
            regularisation_c=1.0,
            cv_macro_f1=0.0,
            dev_macro_f1=0.0,
            trained_at="",
            sklearn_version="",
        ),
    )
    return Classifier(embedder=embedder, head=head)


async def test_closing_the_engine_stops_the_embedding_worker(settings: Settings) -> None:
    inner = RecordingEmbedder()
    classifier = _fake_classifier(CachingEmbedder(BatchingEmbedder(inner, window_s=0.0)), inner.dim)
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
    batching = BatchingEmbedder(model, window_s=NEVER_S, max_batch=len(goals))
    answers = _concurrently(callers, batching, [[goal] for goal in goals])
    for goal, vectors in zip(goals, answers, strict=True):
        # Padding to the batch's longest sentence changes the float rounding, nothing more.
        np.testing.assert_allclose(vectors, model.embed_batch([goal]), atol=1e-6)
    batching.close()
