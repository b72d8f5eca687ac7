"""Labelled goals: the row shape, the stable train/dev/test split, JSONL reading and a digest for provenance.

The eval suite keeps the labelled set (`evals/data/goals.jsonl`); the service reads only the train split's
rows it ships for few-shot prompts (`service/data/examples.jsonl`), so this module names no file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.taxonomy import Kind

# The tag of a win, a rank or a selection: performance here, outcome in the sport-psychology scheme.
CONTESTED = "contested"


class Split(StrEnum):
    """Where a row belongs; the test split never trains or tunes anything."""

    TRAIN = "train"
    DEV = "dev"
    TEST = "test"


class LabelledGoal(BaseModel):
    """One labelled goal; outcome and performance goals carry reference mastery rewrites."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    label: Kind
    family: str = "unknown"
    tags: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mastery_has_no_references(self) -> LabelledGoal:
        if self.label is Kind.MASTERY and self.references:
            raise ValueError("a mastery goal needs no reference rewrites")
        return self

    @property
    def split(self) -> Split:
        """The row's split, a pure function of its id."""
        return split_of(self.id)


def split_of(goal_id: str) -> Split:
    """60/20/20 by a hash of the id, so adding rows never moves existing ones."""
    bucket = int(hashlib.sha256(goal_id.encode()).hexdigest(), 16) % 10
    if bucket < 6:
        return Split.TRAIN
    return Split.DEV if bucket < 8 else Split.TEST


class DatasetError(ValueError):
    """A JSONL file is not a valid labelled set; the message names the line."""


def read_goals(path: Path) -> list[LabelledGoal]:
    """Read a labelled JSONL file, naming the first bad line if there is one."""
    rows: list[LabelledGoal] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(LabelledGoal.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise DatasetError(f"{path}:{number}: not a labelled goal: {exc}") from exc
    return rows


def in_split(rows: Iterable[LabelledGoal], *splits: Split) -> list[LabelledGoal]:
    """The rows of the given splits, in file order."""
    return [row for row in rows if row.split in splits]


def digest(rows: Sequence[LabelledGoal]) -> str:
    """A digest of texts and labels, in order: changes when training data changes."""
    hasher = hashlib.sha256()
    for row in rows:
        hasher.update(f"{row.id}\t{row.label.value}\t{row.text}\n".encode())
    return hasher.hexdigest()


def write_goals(path: Path, rows: Iterable[LabelledGoal]) -> None:
    """Write rows as JSONL, one per line, in the order given."""
    lines = [row.model_dump_json(exclude_defaults=True) + "\n" for row in rows]
    path.write_text("".join(lines), encoding="utf-8")
