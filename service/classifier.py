"""The embedded classifier: a linear head over embedding, cue and n-gram features, temperature-calibrated."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.certainty import judge
from service.cues import Cues, find_cues
from service.errors import ArtifactError
from service.features import FEATURE_SET, NgramVocabulary, featurize
from service.language import ENGLISH, detect_language, language_name
from service.model.embeddings import Embedder, Vectors
from service.reasons import explain, explain_guess
from service.schemas import Classification, Probabilities
from service.taxonomy import KIND_ORDER, Kind


class Provenance(BaseModel):
    """Where a trained head came from, so a stale or foreign artifact is caught."""

    model_config = ConfigDict(extra="forbid")

    embedder: str = Field(description="Fingerprint of the embedding model the head was trained on.")
    data_sha256: str = Field(description="Digest of the training rows (text and label).")
    train_size: int
    regularisation_c: float
    cv_macro_f1: float = Field(description="Cross-validated macro-F1 on the train split.")
    dev_macro_f1: float
    likely_accuracy: float = Field(
        description="Accuracy, on goals of writers held out of training, of answers at or over `likely_from`."
    )
    likely_share: float = Field(description="Share of those held-out answers at or over `likely_from`.")
    trained_at: str
    sklearn_version: str


class ClassifierHead(BaseModel):
    """A multinomial linear head over the features, stored as plain JSON."""

    model_config = ConfigDict(extra="forbid")

    feature_set: str
    ngrams: NgramVocabulary
    classes: list[Kind]
    weights: list[list[float]]
    bias: list[float]
    temperature: float = Field(gt=0)
    likely_from: float = Field(
        ge=0, le=1, description="The confidence from which an answer is called likely (chosen per writer)."
    )
    provenance: Provenance

    @classmethod
    def load(cls, path: Path) -> ClassifierHead:
        """Read a head from disk, failing with a fix-it message when it is missing or malformed."""
        if not path.exists():
            raise ArtifactError(f"No classifier head at {path}. Run `make train` (goal-rewriter train).")
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise ArtifactError(
                f"The classifier head at {path} is malformed ({exc.error_count()} errors). "
                "Run `make train` to rebuild it."
            ) from exc

    def save(self, path: Path) -> None:
        """Write the head as JSON."""
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @cached_property
    def _matrices(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # Converted once: turning the JSON lists into arrays on every request cost a third of a cache hit.
        return np.asarray(self.weights).T, np.asarray(self.bias)

    def probabilities(self, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """Calibrated class probabilities, one row per feature row, columns in `classes` order."""
        weights, bias = self._matrices
        logits = features.astype(np.float64) @ weights + bias
        return softmax(logits / self.temperature)


def softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


class Classifier:
    """Classifies goals with the embedded engine: no network, no key."""

    def __init__(self, *, embedder: Embedder, head: ClassifierHead) -> None:
        if head.provenance.embedder != embedder.fingerprint:
            raise ArtifactError(
                f"The classifier head was trained on {head.provenance.embedder!r} but the model loaded is "
                f"{embedder.fingerprint!r}. Run `make train` to retrain it for this model."
            )
        if head.feature_set != FEATURE_SET:
            raise ArtifactError(
                f"The classifier head uses features {head.feature_set!r}; this code builds {FEATURE_SET!r}. "
                "Run `make train`."
            )
        self.embedder = embedder
        self.head = head

    def classify_batch(self, goals: Sequence[str], vectors: Vectors | None = None) -> list[Classification]:
        """Classify several goals in one embedding pass (none at all when their `vectors` are given)."""
        if not goals:
            return []
        cues = [find_cues(goal) for goal in goals]
        probs = self.head.probabilities(featurize(self.embedder, goals, self.head.ngrams, cues, vectors))
        return [self._answer(goal, found, row) for goal, found, row in zip(goals, cues, probs, strict=True)]

    def classify(self, goal: str) -> Classification:
        """Classify one goal."""
        return self.classify_batch([goal])[0]

    def _answer(self, goal: str, cues: Cues, row: NDArray[np.float64]) -> Classification:
        by_kind = {kind: float(p) for kind, p in zip(self.head.classes, row, strict=True)}
        kind = max(KIND_ORDER, key=lambda k: by_kind[k])
        language = detect_language(goal)
        certainty, unsure_because = judge(
            goal=goal, language=language, confidence=by_kind[kind], likely_from=self.head.likely_from
        )
        return Classification(
            kind=kind,
            confidence=round(by_kind[kind], 4),
            probabilities=Probabilities(**{k.value: round(by_kind[k], 4) for k in KIND_ORDER}),
            certainty=certainty,
            unsure_because=unsure_because,
            language=language,
            reason=explain(kind, cues)
            if language == ENGLISH
            else explain_guess(kind, language_name(language)),
            engine="embedded",
            decision="the embedded classifier decided",
        )
