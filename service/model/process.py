"""The sentence-transformers model in a child process, asked over a pipe.

A forward pass is a few hundred small torch calls, each taking the GIL back from whatever Python runs
beside it; in the server's process, busy request threads made encoding several times slower. In its own
process the model never waits on the server's GIL, and the server's threads never wait on the model's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from service.errors import ModelStopped
from service.model.cores import usable_cores
from service.model.embeddings import SentenceTransformerEmbedder, Vectors

logger = logging.getLogger(__name__)


class ModelProcess:
    """An `Embedder` whose `SentenceTransformerEmbedder` runs in a child process started here."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 0) -> None:
        """Start the child and wait until the model is loaded; `embed_batch` encodes with `threads` torch
        threads (0: one per core this process may use), `encode` with what each call says."""
        threads = threads or usable_cores()
        self._threads = threads
        # A plain child interpreter on one end of a socket pair, not multiprocessing: the child never
        # re-imports the parent's main module, and it sees the pipe close whenever the parent ends.
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "service.model.process", str(theirs.fileno()), str(threads)]
        if model_path is not None:
            command.append(str(model_path))
        # OpenMP's idle threads spin for about 300,000 rounds after each operation, and so for milliseconds
        # after a batch, on cores another model process or the server needs then. Ten thousand rounds still
        # span the gaps between one forward pass's operations (measured: as fast, 20% less CPU a sentence).
        env = {"GOMP_SPINCOUNT": "10000", **os.environ}
        self._process = subprocess.Popen(command, pass_fds=[theirs.fileno()], env=env)  # noqa: S603
        theirs.close()
        self._pipe = Connection(ours.detach())
        self._lock = threading.Lock()
        # The child ends when this object goes, or when this process ends and the pipe closes with it.
        self._finalizer = weakref.finalize(self, _stop, self._pipe, self._process)
        fingerprint = self._ask(None)
        assert isinstance(fingerprint, str)
        self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """The child's vectors for `texts`; its errors are raised here."""
        return self.encode(texts, threads=self._threads)

    def encode(self, texts: Sequence[str], *, threads: int) -> Vectors:
        """The child's vectors for `texts`, encoded with `threads` torch threads."""
        vectors = self._ask((list(texts), threads))
        assert not isinstance(vectors, str)
        return vectors

    def close(self) -> None:
        """Stop the child; embedding afterwards raises `ModelStopped`."""
        self._finalizer()

    def _ask(self, work: tuple[list[str], int] | None) -> Vectors | str:
        """Send texts and a thread count (None: only wait for the ready message); return the answer."""
        with self._lock:
            try:
                if work is not None:
                    self._pipe.send(work)
                status, value = self._pipe.recv()
            except (EOFError, OSError) as exc:
                # A child that just died may not be reaped yet; its exit code says how it ended.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=1)
                raise ModelStopped(
                    f"The embedding model's process has stopped (exit code {self._process.returncode}); "
                    "restart the service, and see its log for why."
                ) from exc
        if status == "error":
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[no-any-return]


def _stop(pipe: Connection, process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # the child may be gone already
        pipe.send(None)
    pipe.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _serve(pipe: Connection, model_path: Path | None, threads: int) -> None:
    """The child: load the model, say ready with its fingerprint, then embed each batch sent until None."""
    import torch

    # Ctrl-C reaches the whole process group; the child stops when the server closes the pipe, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        embedder = SentenceTransformerEmbedder(model_path, threads=threads)
        current = threads
    except Exception as exc:
        _reply(pipe, "error", exc)
        return
    _reply(pipe, "ok", embedder.fingerprint)
    while True:
        try:
            work = pipe.recv()
        except EOFError:
            return
        if work is None:
            return
        texts, threads = work
        try:
            if threads != current:
                # Cheap (measured: no slower than a fixed count); the pool picks a count for every batch.
                torch.set_num_threads(threads)
                current = threads
            vectors = embedder.embed_batch(texts)
        except Exception as exc:
            _reply(pipe, "error", exc)
        else:
            _reply(pipe, "ok", vectors)


def _reply(pipe: Connection, status: str, value: object) -> None:
    try:
        pipe.send((status, value))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        # An exception that cannot be pickled still reaches the caller, as its text.
        logger.debug("unpicklable reply: %s", exc)
        pipe.send(("error", RuntimeError(f"{type(value).__name__}: {value}")))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), Path(sys.argv[3]) if len(sys.argv) > 3 else None, int(sys.argv[2]))
