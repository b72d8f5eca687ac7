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


def _read(folder: Path) -> tuple[str, dict[str, Vectors]] | None:
    """The model fingerprint and the vectors by text recorded in `folder`; None when nothing was."""
    path = folder / KNOWN_FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as stored:
        texts = [str(text) for text in stored["texts"]]
        return str(stored["fingerprint"]), dict(zip(texts, stored["vectors"], strict=True))


def recorded_texts(folder: Path) -> set[str]:
    """The texts whose vectors `folder` holds (none when nothing was recorded)."""
    recorded = _read(folder)
    return set(recorded[1]) if recorded else set()


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
        recorded = _read(folder)
        if recorded is None:
            logger.warning("no precomputed vectors in %s: start-up encodes them (run `make export`)", folder)
            return inner
        fingerprint, known = recorded
        if fingerprint != inner.fingerprint:
            logger.warning("the vectors in %s are another model's: start-up encodes them", folder)
            return inner
        return cls(inner, known)

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
