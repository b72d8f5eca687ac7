"""The three kinds of goal, worded once from the source articles (002, 001, 003, 004 in docs/sources.md).

Prompts, API responses, the web page and the docs all read the wording from here.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

TAXONOMY_VERSION = "1"


class Kind(StrEnum):
    """A goal's kind, ordered from least to most controllable."""

    OUTCOME = "outcome"
    PERFORMANCE = "performance"
    MASTERY = "mastery"


class KindInfo(BaseModel):
    """What a kind is, why it matters, and examples from the sources."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    title: str = Field(description="Short human name of the kind.")
    definition: str = Field(description="What the kind is.")
    controllable: str = Field(description="How far the person controls it.")
    why_it_matters: str = Field(description="What the kind does to the person who sets it.")
    examples: tuple[str, ...] = Field(description="Example goals from the source articles.")


KINDS: dict[Kind, KindInfo] = {
    Kind.OUTCOME: KindInfo(
        kind=Kind.OUTCOME,
        title="Outcome goal",
        definition=(
            "A desired end state that can be influenced but not controlled. It is often vague and gives "
            "no context for how it would be reached."
        ),
        controllable="Influenced, not controlled.",
        why_it_matters=(
            "The person cannot act on it directly and cannot tell when it is reached, which invites "
            "discouragement at the first setback."
        ),
        examples=("Be better at influencing people at a more senior level.",),
    ),
    Kind.PERFORMANCE: KindInfo(
        kind=Kind.PERFORMANCE,
        title="Performance goal",
        definition=(
            "A clear target (a number, a standard, a ranking, a decision by others or a deadline) that "
            "still depends on things outside the person's control."
        ),
        controllable="Clear, but not fully controlled.",
        why_it_matters=(
            "It is clearer than an outcome goal, yet a drop in referrals or a colleague's better idea can "
            "sink it however well the person works."
        ),
        examples=(
            "Achieve X sales per month.",
            "Get at least one of my business ideas agreed by a more senior member of the organisation "
            "this year.",
        ),
    ),
    Kind.MASTERY: KindInfo(
        kind=Kind.MASTERY,
        title="Mastery goal",
        definition=(
            "A goal the person fully controls and that is not ambiguous: it drills into the critical "
            "essentials of the task through learning and practice."
        ),
        controllable="Fully controlled.",
        why_it_matters=(
            "The person owns it and can see progress they made themselves; the results follow as a "
            "by-product, so performance stays in view without depending on luck."
        ),
        examples=(
            "Stay up to date with all current products that we sell.",
            "Keep in contact with my branch network, on a monthly basis, about sales referrals.",
            "Continue to follow market trends and important industry voices, via social media, to assist in "
            "providing me with credible information for making decisions.",
        ),
    ),
}

KIND_ORDER: tuple[Kind, ...] = (Kind.OUTCOME, Kind.PERFORMANCE, Kind.MASTERY)
