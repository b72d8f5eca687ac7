"""The embedded rewriter: a curated playbook of controllable practices, retrieved by similarity and
adapted to the goal's own subject."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from service.config import PACKAGE_DATA
from service.model.embeddings import Embedder, Vectors

Cadence = Literal["daily", "weekly", "fortnightly", "monthly", "quarterly", "per occurrence"]
CADENCE_PHRASES: dict[str, str] = {
    "daily": "every day",
    "weekly": "every week",
    "fortnightly": "every two weeks",
    "monthly": "every month",
    "quarterly": "every quarter",
    "per occurrence": "each time it comes up",
}
PLAYBOOK_PATH = PACKAGE_DATA / "playbook.jsonl"


class PlaybookEntry(BaseModel):
    """One controllable practice; `practice` may hold one `{topic}` placeholder for the goal's subject."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    family: str
    skill: str
    practice: str
    progress_measure: str
    cadence: Cadence
    serves: list[str] = Field(min_length=1)
    keywords: list[str]

    def retrieval_text(self) -> str:
        """What the entry is about, for embedding: the practice, its skill, keywords and results."""
        practice = self.practice.replace("{topic}", self.skill)
        return f"{practice} {self.skill}. {', '.join(self.keywords)}. {', '.join(self.serves)}."


class Draft(BaseModel):
    """A candidate rewrite before scoring, from either engine."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A first-person goal the person fully controls, one or two sentences.")
    serves: str = Field(description="The result from the original goal that it serves.")
    progress_measure: str = Field(description="What the person counts themselves.")
    cadence: str = Field(description="How often: daily, weekly, monthly, each time it comes up...")
    rationale: str = Field(description="Why it is controllable, in plain words.")


def mmr(query: Vectors, candidates: Vectors, *, k: int, diversity: float = 0.2, pool: int = 15) -> list[int]:
    """Maximal marginal relevance: similar to the query, unlike what was already picked."""
    relevance = candidates @ query
    shortlist = [int(i) for i in np.argsort(-relevance)[:pool]]
    picked: list[int] = []
    while shortlist and len(picked) < k:

        def gain(i: int) -> float:
            redundancy = max((float(candidates[i] @ candidates[j]) for j in picked), default=0.0)
            return (1 - diversity) * float(relevance[i]) - diversity * redundancy

        best = max(shortlist, key=gain)
        picked.append(best)
        shortlist.remove(best)
    return picked


class Playbook:
    """The practices with their embeddings, loaded once."""

    def __init__(self, *, embedder: Embedder, entries: Sequence[PlaybookEntry]) -> None:
        self.entries = list(entries)
        self._embedder = embedder
        self._vectors = embedder.embed_batch([e.retrieval_text() for e in self.entries])

    @classmethod
    def load(cls, embedder: Embedder, path: Path = PLAYBOOK_PATH) -> Playbook:
        """Read the playbook JSONL file."""
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls(
            embedder=embedder, entries=[PlaybookEntry.model_validate(json.loads(x)) for x in lines if x]
        )

    def retrieve(self, query: str, *, k: int) -> list[tuple[PlaybookEntry, float]]:
        """`k` practices relevant to the query and different from each other, with their relevance."""
        vector = self._embedder.embed_batch([query])[0]
        return [(self.entries[i], float(self._vectors[i] @ vector)) for i in mmr(vector, self._vectors, k=k)]


def adapt(entry: PlaybookEntry, *, goal: str, topic: str) -> Draft:
    """The practice written for this goal: its subject in place of `{topic}`, the goal as what it serves."""
    text = entry.practice.replace("{topic}", topic or entry.skill)
    cadence = CADENCE_PHRASES[entry.cadence]
    return Draft(
        text=text,
        serves=goal if len(goal) <= 160 else goal[:157].rstrip() + "...",
        progress_measure=entry.progress_measure,
        cadence=cadence,
        rationale=(
            f"It is your own practice, counted as {entry.progress_measure} {cadence}, so it happens whatever "
            f"others decide; it builds {entry.serves[0]}."
        ),
    )
