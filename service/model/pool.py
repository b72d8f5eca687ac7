"""Dynamic batching over a pool of encoders (one ONNX Runtime session, or model processes on torch):
concurrent `embed_batch` calls are coalesced into batches, and each batch goes to whichever model is free.

Each caller's texts are queued; one worker per model takes what is waiting (collecting arrivals for up to
`window_s`, or until `max_batch` texts), encodes it and hands each caller its rows. On a small CPU, models
of one thread each, side by side, encode more sentences a second than one model with every core (`make
bench` measures both): a forward pass is hundreds of small operations, and every thread of one model waits
for the slowest at each. A batch that finds no other work, queued or running, takes every core instead,
so a lone request is as fast as the model can be, as long as that pays (`service.model.cores`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from service.errors import ModelStopped
from service.model.cores import Cores
from service.model.embeddings import Vectors

logger = logging.getLogger(__name__)


class Encoder(Protocol):
    """A model the batcher hands batches to, told how many CPU threads it may use for each."""

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors: ...


@dataclass
class _Job:
    texts: list[str]
    answer: Future[Vectors] = field(default_factory=Future)


# Put on the queue by `close`, one per worker: each embeds what was queued before it, then stops.
_STOP = _Job(texts=[])


class _Pending:
    """The jobs waiting for a worker. A job that arrives wakes the worker that went idle last, whose model
    process is the warmest: handing lone requests to two processes in turn cost about 1 ms each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: deque[_Job] = deque()
        self._idle: list[threading.Event] = []

    def put(self, job: _Job) -> None:
        with self._lock:
            self._jobs.append(job)
            if self._idle:
                self._idle.pop().set()

    def empty(self) -> bool:
        with self._lock:
            return not self._jobs

    def idle(self) -> int:
        """How many workers are waiting for a job."""
        with self._lock:
            return len(self._idle)

    def drain(self) -> list[_Job]:
        """Take every job still waiting."""
        with self._lock:
            jobs = list(self._jobs)
            self._jobs.clear()
            return jobs

    def get(self, wake: threading.Event, *, timeout: float | None = None) -> _Job | None:
        """The oldest job, waiting for one for up to `timeout` seconds (None: until one comes) with `wake`,
        the calling worker's own event; None when none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._jobs:
                    return self._jobs.popleft()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                wake.clear()
                self._idle.append(wake)
            woken = wake.wait(left)
            if not woken:
                with self._lock:
                    if wake in self._idle:
                        self._idle.remove(wake)


class BatchingEmbedder:
    """An `Embedder` that coalesces the texts of concurrent callers into batches for a pool of encoders."""

    def __init__(
        self, encoders: Sequence[Encoder], *, cores: int, window_s: float = 0.0, max_batch: int = 8
    ) -> None:
        if not encoders:
            raise ValueError("at least one encoder is needed")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if len({encoder.fingerprint for encoder in encoders}) > 1:
            raise ValueError("the encoders must all hold the same model")
        self._encoders = list(encoders)
        self._fingerprint = encoders[0].fingerprint
        # Why the last model that stopped did: raised to callers once no model is left.
        self._stopped: ModelStopped | None = None
        self._cores = Cores(cores, encoders=len(encoders))
        self._window_s = window_s
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: _Pending | None = None
        self._workers: list[threading.Thread] = []

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def idle_workers(self) -> int:
        """Workers waiting for a batch: all of them between two requests, once the last answer is handed."""
        with self._lock:
            return self._queue.idle() if self._queue is not None else 0

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """The vectors of `texts`, embedded together with whatever other callers are waiting."""
        # A call larger than a batch is split, so every batch a worker forms stays within max_batch (and
        # the parts of a long call are encoded side by side).
        step = self._max_batch
        jobs = [_Job(texts=list(texts[i : i + step])) for i in range(0, len(texts), step)]
        with self._lock:
            if not self._encoders:
                assert self._stopped is not None
                raise ModelStopped(str(self._stopped))
            first = self._encoders[0]
            if texts:
                pending = self._queue if self._queue is not None else self._start()
                for job in jobs:
                    pending.put(job)
        if not texts:
            return first.encode([], threads=1)
        parts = [job.answer.result() for job in jobs]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def close(self) -> None:
        """Stop the workers once the texts already queued are embedded. The encoders stay open and a later
        call starts new workers: an engine shared by several apps (as in the tests) outlives each."""
        with self._lock:
            workers, pending = self._workers, self._queue
            self._workers, self._queue = [], None
            if pending is None:
                return
            for _ in workers:
                pending.put(_STOP)
        for worker in workers:
            worker.join()

    def _start(self) -> _Pending:
        pending = _Pending()
        self._workers = [
            threading.Thread(
                target=self._run, args=(encoder, pending), name=f"embed-batcher-{index}", daemon=True
            )
            for index, encoder in enumerate(self._encoders)
        ]
        for worker in self._workers:
            worker.start()
        self._queue = pending
        return pending

    def _run(self, encoder: Encoder, pending: _Pending) -> None:
        wake = threading.Event()
        carried: _Job | None = None
        while True:
            first = carried or pending.get(wake)
            carried = None
            if first is None:
                continue
            if first is _STOP:
                return
            batch, stop, carried = self._collect(first, pending, wake)
            texts = len({text for job in batch for text in job.texts})
            try:
                with self._cores.held(texts=texts, alone=carried is None and pending.empty()) as threads:
                    self._embed(encoder, batch, threads)
            except ModelStopped as exc:
                self._retire(encoder, [*batch, *([carried] if carried else [])], exc, pending)
                return
            if stop:
                return

    def _retire(self, encoder: Encoder, jobs: list[_Job], exc: ModelStopped, pending: _Pending) -> None:
        """Take a model whose process has stopped out of the pool. Its jobs go back on the queue for the
        models left; when none is left, they and every job still queued fail with `exc`, and so does any
        later call."""
        with self._lock:
            if encoder in self._encoders:
                self._encoders.remove(encoder)
            self._stopped = exc
            logger.error("A model process stopped; %d left. %s", len(self._encoders), exc)
            if self._encoders and pending is self._queue:
                for job in jobs:
                    pending.put(job)
                return
            failed = [*jobs, *pending.drain()]
        for job in failed:
            if job is not _STOP:
                job.answer.set_exception(exc)

    def _collect(
        self, first: _Job, pending: _Pending, wake: threading.Event
    ) -> tuple[list[_Job], bool, _Job | None]:
        """The jobs of one batch: (jobs, whether `close` was called, a job left over for the next batch)."""
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self._window_s
        while size < self._max_batch:
            job = pending.get(wake, timeout=max(0.0, deadline - time.monotonic()))
            if job is None:
                break
            if job is _STOP:
                return batch, True, None
            if size + len(job.texts) > self._max_batch:
                return batch, False, job
            batch.append(job)
            size += len(job.texts)
        return batch, False, None

    def _embed(self, encoder: Encoder, batch: list[_Job], threads: int) -> None:
        """One encode for the whole batch; when it fails, each job alone, so only its own caller sees its
        error and the others still get their vectors. A model whose process stopped fails no job here:
        `ModelStopped` goes up to the worker, which hands the batch to the models left."""
        unique = list(dict.fromkeys(text for job in batch for text in job.texts))
        try:
            vectors = encoder.encode(unique, threads=threads)
            row = {text: i for i, text in enumerate(unique)}
            answers = [vectors[[row[text] for text in job.texts]] for job in batch]
        except ModelStopped:
            raise
        except Exception as exc:
            if len(batch) == 1:
                batch[0].answer.set_exception(exc)
                return
            for job in batch:
                self._embed(encoder, [job], threads)
            return
        for job, vectors_of_job in zip(batch, answers, strict=True):
            job.answer.set_result(vectors_of_job)
