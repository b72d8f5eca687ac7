"""Labelled examples for few-shot prompts, retrieved per goal by embedding similarity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.config import PACKAGE_DATA
from service.labelled import LabelledGoal, read_goals
from service.model.embeddings import Embedder, Vectors
from service.taxonomy import KIND_ORDER

# The labelled set's train split, written by `goal-rewriter train`; never the dev or test split.
EXAMPLES_PATH = PACKAGE_DATA / "examples.jsonl"


class ExampleIndex:
    """The train split's goals with their embeddings; never the dev or test split."""

    def __init__(self, *, embedder: Embedder, rows: Sequence[LabelledGoal]) -> None:
        self.rows = list(rows)
        self._embedder = embedder
        self._vectors: Vectors = embedder.embed_batch([row.text for row in self.rows])

    @classmethod
    def from_package(cls, embedder: Embedder) -> ExampleIndex:
        """The index over the train-split rows the package ships."""
        return cls(embedder=embedder, rows=read_goals(EXAMPLES_PATH))

    def nearest(self, goal: str, *, k: int, per_kind: bool = True) -> list[LabelledGoal]:
        """The `k` most similar rows; with `per_kind`, the nearest of each kind in turn, so all kinds show;
        without it, only rows that carry reference rewrites."""
        if k <= 0 or not self.rows:
            return []
        scores = self._vectors @ self._embedder.embed_batch([goal])[0]
        order = [int(i) for i in np.argsort(-scores)]
        if not per_kind:
            return [self.rows[i] for i in order if self.rows[i].references][:k]
        queues = {kind: [i for i in order if self.rows[i].label is kind] for kind in KIND_ORDER}
        picked: list[LabelledGoal] = []
        while len(picked) < min(k, len(self.rows)):
            for kind in KIND_ORDER:
                if queues[kind] and len(picked) < k:
                    picked.append(self.rows[queues[kind].pop(0)])
        return picked
