"""Lexical signals of control in a goal: targets, comparisons, decisions by others, practices on a schedule.

They feed the classifier head beside the embedding and give the plain-language reason its evidence.
"""

from __future__ import annotations

import re
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field


class Cue(StrEnum):
    """A kind of evidence about who controls a goal."""

    TARGET_NUMBER = "target_number"
    RESULT_METRIC = "result_metric"
    COMPARISON = "comparison"
    DECISION_BY_OTHERS = "decision_by_others"
    SCHEDULE = "schedule"
    OWN_PRACTICE = "own_practice"
    LEARNING_VOLUME = "learning_volume"
    VAGUE_STATE = "vague_state"
    PURPOSE_CLAUSE = "purpose_clause"


_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|fifty|"
    r"hundred|thousand|million|dozen|half"
)
_PERIODS = (
    r"day|week|month|quarter|year|morning|evening|shift|sprint|fortnight|term|semester|"
    r"monday|tuesday|wednesday|thursday|friday|meeting|session|call|visit|lesson|class|release|project"
)
_LEARNING_UNITS = (
    r"courses?|modules?|hours?|books?|sessions?|workshops?|webinars?|articles?|chapters?|papers?|"
    r"lessons?|classes|tutorials?|podcasts?|mock\w*|drills?|katas?|exercises?|shadow\w*|talks?"
)

_PATTERNS: dict[Cue, re.Pattern[str]] = {
    Cue.TARGET_NUMBER: re.compile(
        rf"(?:[$£€]\s?\d[\d,.]*\s?[km]?|\d[\d,.]*\s?(?:%|percent|k\b|x\b)?|\b(?:{_NUMBER_WORDS})\b)"
    ),
    Cue.RESULT_METRIC: re.compile(
        r"\b(?:sales|revenue|quota|deals?|bookings|pipeline|leads|nps|csat|ces|scores?|ratings?|"
        r"retention|churn|conversions?|defects?|margins?|budget|profit|roi|kpis?|okrs?|targets?|"
        r"market share|growth|uptime|sla|downtime|yield|scrap|turnover|attrition|engagement|"
        r"satisfaction|grades?|pass rates?|results?|savings|cost|costs|accuracy|win rate|"
        r"on[- ]time|response times?|resolution|backlog|incidents?|complaints?|reviews? of \d|"
        r"citations?|impact factor|grant|followers|traffic|signups?|sign-ups?|ctr|open rate)\b"
    ),
    Cue.COMPARISON: re.compile(
        r"\b(?:top\s+(?:\d+|\w+\s+)?(?:%|percent|performer|rep|seller|team|quartile|tier|ten|three|five)?|"
        r"best\b|#\s?1|number one|first place|rank\w*|leaderboard|beat\w*|outperform\w*|ahead of|"
        r"highest|lowest|than (?:anyone|everyone|my peers|my colleagues|the (?:other|rest)|others|"
        r"last year|last quarter)|better than|more than (?:my|the|any)|out of \d+)"
    ),
    Cue.DECISION_BY_OTHERS: re.compile(
        r"\b(?:approv\w*|promot\w*|select\w*|chosen|accept\w*|award\w*|sign[- ]?off|signed off|"
        r"buy[- ]in|agreed|adopt\w*|funded|funding|hired|published|nominat\w*|recogni[sz]\w*|"
        r"won|win\b|wins\b|pass\b|passed|passing|certified|certification|get into|offer|elected|"
        r"green[- ]?lit|greenlight\w*|endors\w*|commission\w*|invited|shortlist\w*|picked)\b"
    ),
    Cue.SCHEDULE: re.compile(
        rf"\b(?:(?:every|each|per|after each|after every|before each|before every)\s+(?:other\s+)?"
        rf"(?:{_PERIODS})s?\b|(?:a|once a|twice a|times a)\s+(?:day|week|month|quarter|year|fortnight)\b|"
        r"daily|weekly|monthly|fortnightly|bi-?weekly|quarterly|nightly|"
        r"on (?:mondays|tuesdays|wednesdays|thursdays|fridays))"
    ),
    Cue.OWN_PRACTICE: re.compile(
        r"\b(?:read|practi[cs]e|attend|complete|finish|study|shadow|ask|review|schedule|call|write|"
        r"spend|block|keep|learn|take|join|observe|reflect|prepare|track|log|hold|set aside|"
        r"dedicate|rehearse|record|document|visit|contact|follow|stay up to date|check in|sit in|"
        r"volunteer|mentor|pair|send|shadowing|journal|audit|walk|listen|watch|note|map|draft|"
        r"meet with|reach out|catch up|run a|run one|run my|book)\b"
    ),
    Cue.LEARNING_VOLUME: re.compile(
        rf"(?:\d+|\b(?:{_NUMBER_WORDS}))\s+(?:\w+\s+){{0,2}}(?:{_LEARNING_UNITS})\b"
    ),
    Cue.VAGUE_STATE: re.compile(
        r"\b(?:be (?:a |an |the |more |less )?(?:better|stronger|great|good|more|go-to|known|seen)|"
        r"become|get better|improve|feel|seen as|known as|perceived|confident|confidence|trusted|"
        r"respected|excellent|enhance|strengthen|grow as|develop (?:as|my)|well[- ]rounded|"
        r"more visib\w*|visibility|credib\w*|influenc\w*|empower\w*|thought leader|world[- ]class|"
        r"rock ?star|ninja|go-to|excel\b|shine|stand out|level up|step up|master\b)"
    ),
    Cue.PURPOSE_CLAUSE: re.compile(
        r"\b(?:so that|so i can|so we can|so they|in order to|to help|which will|with the aim|"
        r"to support|to make sure|to get better)\b"
    ),
}


class Cues(BaseModel):
    """The phrases of a goal that count as evidence, by cue."""

    found: dict[Cue, list[str]] = Field(default_factory=dict)

    def first(self, cue: Cue) -> str | None:
        """The first phrase found for a cue, if any."""
        phrases = self.found.get(cue)
        return phrases[0] if phrases else None

    def vector(self) -> NDArray[np.float32]:
        """One 0/1 feature per cue, in `Cue` order, for the classifier head."""
        return np.array([1.0 if self.found.get(cue) else 0.0 for cue in Cue], dtype=np.float32)


def find_cues(text: str) -> Cues:
    """The cue phrases in a goal, matched case-insensitively."""
    lowered = text.lower()
    found: dict[Cue, list[str]] = {}
    for cue, pattern in _PATTERNS.items():
        phrases = [m.group(0).strip() for m in pattern.finditer(lowered) if m.group(0).strip()]
        if phrases:
            found[cue] = phrases
    return Cues(found=found)


CUE_COUNT = len(Cue)
