"""Vectors computed ahead of start: the texts the engine embeds while it starts (the playbook's practices,
its job titles, the few-shot goals) are the same on every start, and encoding them took most of a
replica's start (about 3,500 sentences, 8-15 s on 2 cores). `goal-rewriter export` records them beside the
exported encoder; a replica reads them back in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from service.model.embeddings import Embedder, Vectors

logger = logging.getLogger(__name__)

KNOWN_FILE = "known_vectors.npz"


def recorded_texts(folder: Path) -> set[str]:
    """The texts whose vectors `folder` holds (none when nothing was recorded)."""
    path = folder / KNOWN_FILE
    if not path.exists():
        return set()
    with np.load(path, allow_pickle=False) as stored:
        return {str(text) for text in stored["texts"]}


class Recorder:
    """An `Embedder` that passes every call to `inner` and keeps each text with its vector."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._known: dict[str, Vectors] = {}

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        vectors = self._inner.embed_batch(texts)
        self._known.update(zip(texts, vectors, strict=True))
        return vectors

    def close(self) -> None:
        self._inner.close()

    def save(self, folder: Path) -> Path:
        """Write what was recorded to `folder`, with the model's fingerprint; returns the file."""
        path = folder / KNOWN_FILE
        texts = list(self._known)
        np.savez(
            path,
            texts=np.array(texts, dtype=str),
            vectors=np.stack([self._known[t] for t in texts]).astype(np.float32),
            fingerprint=np.array(self.fingerprint),
        )
        return path


class KnownVectors:
    """An `Embedder` that answers the recorded texts from the file and asks `inner` for the others."""

    def __init__(self, inner: Embedder, known: dict[str, Vectors]) -> None:
        self._inner = inner
        self._known = known

    @classmethod
    def around(cls, inner: Embedder, folder: Path) -> Embedder:
        """`inner` with the vectors recorded in `folder`, or `inner` alone when there are none for its
        model (a start then encodes every text, and is only slower)."""
        path = folder / KNOWN_FILE
        if not path.exists():
            logger.warning("no precomputed vectors at %s: start-up encodes them (run `make export`)", path)
            return inner
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != inner.fingerprint:
                logger.warning("the vectors at %s are another model's: start-up encodes them", path)
                return inner
            texts = [str(t) for t in stored["texts"]]
            vectors = stored["vectors"]
        return cls(inner, dict(zip(texts, vectors, strict=True)))

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in texts if t not in self._known]
        if len(missing) == len(texts):
            return self._inner.embed_batch(texts)
        fresh = dict(zip(missing, self._inner.embed_batch(missing), strict=True)) if missing else {}
        return np.stack([self._known[t] if t in self._known else fresh[t] for t in texts]).astype(np.float32)

    def close(self) -> None:
        self._inner.close()
