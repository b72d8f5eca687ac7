"""The classifier head's input: sentence embedding, cue flags and word n-gram TF-IDF, side by side."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, model_validator

from service.cues import CUE_COUNT, Cues, find_cues
from service.model.embeddings import Embedder, Vectors

FEATURE_SET = "minilm-unit+cues+tfidf12-v1"
# Block weights chosen by cross-validation on train+dev (never test): the embedding carries meaning, the
# cues and n-grams carry the small words ("every", "approved", "top") that decide control.
CUE_SCALE = 0.25
NGRAM_SCALE = 2.0
WORD_PATTERN = r"(?u)\b\w+\b"
_TOKEN = re.compile(WORD_PATTERN)


def ngrams(text: str) -> list[str]:
    """Lower-cased word unigrams and bigrams, as scikit-learn's TfidfVectorizer(ngram_range=(1, 2)) makes."""
    tokens = _TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


class NgramVocabulary(BaseModel):
    """Fitted n-gram terms with their inverse document frequencies (sublinear tf, l2-normalised rows)."""

    model_config = ConfigDict(extra="forbid")

    terms: list[str]
    idf: list[float]

    @model_validator(mode="after")
    def _same_length(self) -> NgramVocabulary:
        if len(self.terms) != len(self.idf):
            raise ValueError("terms and idf must have the same length")
        return self

    @cached_property
    def _index(self) -> dict[str, int]:
        # Built once: rebuilding it for every request cost more than the rest of the transform.
        return {term: i for i, term in enumerate(self.terms)}

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One l2-normalised TF-IDF row per text; unseen n-grams are ignored."""
        index = self._index
        out = np.zeros((len(texts), len(self.terms)), dtype=np.float32)
        for row, text in enumerate(texts):
            for term, count in Counter(ngrams(text)).items():
                if (column := index.get(term)) is not None:
                    out[row, column] = (1.0 + math.log(count)) * self.idf[column]
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


def featurize(
    embedder: Embedder,
    texts: Sequence[str],
    vocabulary: NgramVocabulary,
    cues: Sequence[Cues] | None = None,
    vectors: Vectors | None = None,
) -> NDArray[np.float32]:
    """Embedding, scaled cue flags and scaled n-grams, one row per text (`vectors` if already embedded)."""
    found = cues if cues is not None else [find_cues(text) for text in texts]
    embedded = vectors if vectors is not None else embedder.embed_batch(texts)
    return assemble(embedded, cue_flags(found), vocabulary.transform(texts))


def cue_flags(cues: Sequence[Cues]) -> NDArray[np.float32]:
    """The cue flags of several goals as a matrix."""
    return np.stack([c.vector() for c in cues]) if cues else np.zeros((0, CUE_COUNT), dtype=np.float32)


def assemble(
    embedded: NDArray[np.float32], flags: NDArray[np.float32], tfidf: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Join the three blocks with their weights (training reuses embeddings across folds through this)."""
    return np.hstack([embedded, CUE_SCALE * flags, NGRAM_SCALE * tfidf]).astype(np.float32)
