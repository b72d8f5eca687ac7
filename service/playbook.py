"""The embedded rewriter's practices: complete sentences a coach would write, each tagged with its job
family, the levers it moves and the roles it suits, retrieved for a goal from its own world.

No practice has a slot: the goal enters a rewrite only as a purpose clause built from its parse
(`service.grammar`), so a practice reads right whatever the goal's wording.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.config import PACKAGE_DATA
from service.lexicon import Lexicon
from service.model.embeddings import Embedder, Vectors

Cadence = Literal["daily", "weekly", "fortnightly", "monthly", "quarterly", "per occurrence"]
# What a practice moves; the first of a practice's levers is its main one, and one goal's rewrites differ
# in it.
Lever = Literal[
    "quality", "learning", "relationships", "planning", "communication", "team", "career", "speed",
    "customers", "visibility", "compliance", "wellbeing", "cost", "safety", "innovation", "sales",
]  # fmt: skip
# Practices for any job, frontline or desk: used for every goal, beside its own family's.
GENERIC = "generic"
# Habits of desk work (the calendar, the inbox, slides), offered only beside a desk job's own practices.
OFFICE = "office"
DESK_FAMILIES = {
    "sales", "customer_service", "marketing", "engineering", "design", "research", "data", "hr", "finance",
    "legal", "public_sector", "operations", "people_management", "personal_development",
}  # fmt: skip
# A goal's family is the one its closest practices and its closest job title both point to, or else one
# that fits it this much better than the next family. Measured on goals written outside the project, the
# family so chosen is right for 48 goals in 55, and 45 in 100 get none.
FAMILY_MARGIN = 0.06
# How much a practice of the goal's own family counts above a generic one in ranking.
FAMILY_BONUS = 0.08
# How far below the best practice another lever's practice may be and still be offered.
LEVER_SLACK = 0.12
# How much a practice on the goal's main lever counts above one on a lever the goal does not move.
LEVER_BONUS = 0.1
# How much the goal's own lever words count beside the levers of the practices closest to it.
LEVER_WORDS = 1.0
# How much the goal's words that only one family's practices use count toward that family.
FAMILY_WORDS = 0.1
# A caller's job title this close to a family's roles picks that family.
ROLE_MATCH = 0.7
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
    """One controllable practice, a complete first-person sentence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    family: str
    skill: str
    levers: list[Lever] = Field(min_length=1, max_length=3)
    roles: list[str] = Field(min_length=1)
    practice: str
    progress_measure: str
    cadence: Cadence
    serves: list[str] = Field(min_length=1)
    keywords: list[str]

    @field_validator("practice")
    @classmethod
    def _complete_sentence(cls, practice: str) -> str:
        if "{" in practice or "}" in practice:
            raise ValueError("a practice has no slot: the goal enters only through its purpose clause")
        if not (practice[:1].isupper() and practice.endswith(".") and "I will" in practice):
            raise ValueError("a practice is one first-person sentence with 'I will', ending with a period")
        return practice

    @property
    def lever(self) -> Lever:
        """The main lever."""
        return self.levers[0]

    def retrieval_text(self) -> str:
        """What the entry is for, for embedding: the results it serves, its skill and keywords."""
        return f"{', '.join(self.serves)}. {self.skill}. {', '.join(self.keywords)}."


class Draft(BaseModel):
    """A candidate rewrite before scoring, from either engine."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A first-person goal the person fully controls, one or two sentences.")
    serves: str = Field(description="The result from the original goal that it serves.")
    progress_measure: str = Field(description="What the person counts themselves.")
    cadence: str = Field(description="How often: daily, weekly, monthly, each time it comes up...")
    rationale: str = Field(description="Why it is controllable, in plain words.")


class Playbook:
    """The practices with their embeddings, loaded once."""

    def __init__(self, *, embedder: Embedder, entries: Sequence[PlaybookEntry]) -> None:
        self.entries = list(entries)
        self._embedder = embedder
        # What a practice is for and what it says, equally: goals name results, and a practice's own words
        # ("another site", "each store") alone would match a goal by chance.
        purposes = embedder.embed_batch([e.retrieval_text() for e in self.entries])
        sentences = embedder.embed_batch([e.practice for e in self.entries])
        both = purposes + sentences
        self._vectors = both / np.linalg.norm(both, axis=1, keepdims=True)
        self._families = np.array([e.family for e in self.entries])
        self._family_names = sorted(set(self._families) - {GENERIC, OFFICE})
        # Every job title the practices name, with the family that names it most, so a job title given by
        # the caller finds its family.
        titles: dict[str, Counter[str]] = {}
        for entry in self.entries:
            for title in entry.roles:
                if entry.family not in {GENERIC, OFFICE} and title != "any":
                    titles.setdefault(title, Counter())[entry.family] += 1
        self._titles = [(title, counts.most_common(1)[0][0]) for title, counts in sorted(titles.items())]
        self._title_vectors = embedder.embed_batch([title for title, _ in self._titles])
        self._family_words = Lexicon(
            (f"{e.practice} {e.skill} {' '.join(e.keywords)} {' '.join(e.roles)}", e.family)
            for e in self.entries
            if e.family not in {GENERIC, OFFICE}
        )
        # The practices written for any job name their results in words any goal uses ("turnaround",
        # "complaints", "referrals"), so their keywords say which lever a goal is about.
        self._lever_words = Lexicon(
            (f"{' '.join(e.keywords)} {' '.join(e.serves)}", e.lever)
            for e in self.entries
            if e.family == GENERIC
        )

    @classmethod
    def load(cls, embedder: Embedder, path: Path = PLAYBOOK_PATH) -> Playbook:
        """Read the playbook JSONL file."""
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls(
            embedder=embedder, entries=[PlaybookEntry.model_validate(json.loads(x)) for x in lines if x]
        )

    def retrieve(self, query: str, *, k: int, role: str | None = None) -> list[tuple[PlaybookEntry, float]]:
        """Up to `k` practices for the query from its own family and the generic ones, ranked by relevance
        with a lift for the goal's family and levers, each with a main lever of its own while the goal's
        levers allow, best first, with their relevance."""
        vector = self._embedder.embed_batch([query])[0]
        relevance = self._vectors @ vector
        families = self._goal_families(query, vector, relevance, role)
        # Desk habits (the calendar, the inbox, slides) only for a goal from a desk job.
        shared = {GENERIC, OFFICE} if families & DESK_FAMILIES else {GENERIC}
        allowed = [i for i in range(len(self.entries)) if self._families[i] in families | shared]
        levers = self._levers(query, relevance, allowed)
        score = {
            i: float(relevance[i])
            + FAMILY_BONUS * (self._families[i] in families)
            + LEVER_BONUS * levers.get(self.entries[i].lever, 0.0)
            for i in allowed
        }
        ranked = sorted(allowed, key=score.__getitem__, reverse=True)
        # Another lever is a second idea only while its practice is nearly as good as the best.
        best = score[ranked[0]] if ranked else 0.0
        fitting = [i for i in ranked if levers.get(self.entries[i].lever, 0.0) >= 1 / 3]
        fitting = [i for i in fitting if score[i] >= best - LEVER_SLACK]
        picked: list[int] = []
        for i in fitting:
            if len(picked) == k:
                break
            if self.entries[i].lever not in {self.entries[j].lever for j in picked}:
                picked.append(i)
        # Fewer fitting practices than asked for: the next best of the goal's world fill up.
        picked += [i for i in dict.fromkeys([*fitting, *ranked]) if i not in picked][: k - len(picked)]
        return [(self.entries[i], score[i]) for i in picked]

    def _levers(self, query: str, relevance: Vectors, allowed: Sequence[int]) -> dict[str, float]:
        """The goal's levers, each in [0, 1]: what the practices closest to it move, and what its own words
        point to ("trust", "near misses")."""
        weight: dict[str, float] = {}
        for i in sorted(allowed, key=lambda i: -relevance[i])[:10]:
            for moved in self.entries[i].levers:
                weight[moved] = weight.get(moved, 0.0) + float(relevance[i])
        words = self._lever_words.scores(query)
        top, top_words = max(weight.values(), default=1.0), max(words.values(), default=1.0)
        levers = {name: w / top for name, w in weight.items()}
        for name, w in words.items():
            levers[name] = levers.get(name, 0.0) + LEVER_WORDS * w / top_words
        return levers

    def levers_of(self, texts: Sequence[str]) -> list[set[str]]:
        """The main levers of each text's three nearest practices: what a rewrite from either engine moves."""
        if not texts:
            return []
        sims = self._embedder.embed_batch(list(texts)) @ self._vectors.T
        return [{self.entries[int(i)].lever for i in np.argsort(-row)[:3]} for row in sims]

    def _goal_families(self, query: str, vector: Vectors, relevance: Vectors, role: str | None) -> set[str]:
        """The goal's job family: the caller's role's when it names one, else the family that fits the
        goal clearly better than any other, by its three best practices, its closest job title and its own
        words; none when no family does, since a practice from the wrong job reads worse than a generic
        one."""
        if role and self._titles:
            fit = self._title_vectors @ self._embedder.embed_batch([role])[0]
            if float(fit.max()) >= ROLE_MATCH:
                return {self._titles[int(np.argmax(fit))][1]}
        words = self._family_words.scores(query)
        titles = self._title_vectors @ vector
        closest: dict[str, float] = {}
        for (_, family), sim in zip(self._titles, titles, strict=True):
            closest[family] = max(closest.get(family, 0.0), float(sim))
        practices = {
            f: float(np.mean(np.sort(relevance[self._families == f])[-3:])) for f in self._family_names
        }
        scores = sorted(
            (practices[f] + closest.get(f, 0.0) + FAMILY_WORDS * words.get(f, 0.0), f)
            for f in self._family_names
        )
        best = scores[-1][1]
        # The practices and the job titles agree, or together they point clearly to one family.
        agreed = best == max(practices, key=practices.__getitem__) == max(closest, key=closest.__getitem__)
        if agreed or len(scores) == 1 or scores[-1][0] - scores[-2][0] >= FAMILY_MARGIN:
            return {best}
        return set()


def adapt(entry: PlaybookEntry, *, goal: str, purpose: str | None) -> Draft:
    """The practice written for this goal: with what it is for when the goal's parse gives a clean verb
    phrase ("..., to win back lapsed subscribers."), the goal itself as what it serves."""
    text = f"{entry.practice[:-1]}, to {purpose}." if purpose else entry.practice
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
