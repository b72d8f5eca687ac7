"""The typed shapes that cross a boundary (HTTP, CLI, JSONL), shared by the API, the CLI and the evals."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from service.llm.structured import LLMTrace
from service.taxonomy import Kind

MAX_GOAL_CHARS = 1000
EngineName = Literal["embedded", "llm"]
Certainty = Literal["likely", "unsure"]


def check_goal_text(value: str) -> str:
    """Trim a goal and reject text no one could classify, with a message that says how to fix it."""
    text = value.strip()
    if not text:
        raise ValueError("the goal is empty: write the goal you want to check, e.g. 'Close 20 deals a month'")
    if len(text) > MAX_GOAL_CHARS:
        raise ValueError(
            f"the goal is {len(text)} characters long; the limit is {MAX_GOAL_CHARS}. "
            "Send one goal at a time, or shorten it to its main sentence"
        )
    _refuse_control_characters(text, what="the goal", allowed="\n\t")
    return text


def check_context_text(value: str) -> str:
    """Trim a role or team, one line of plain text (it reaches the LLM's prompt, so no control characters)."""
    text = value.strip()
    _refuse_control_characters(text, what="the context (role or team)", allowed="")
    return text


def _refuse_control_characters(text: str, *, what: str, allowed: str) -> None:
    for position, char in enumerate(text):
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff":
            raise ValueError(
                f"{what} contains a control character (U+{ord(char):04X}) at position {position}; "
                "paste it as plain text"
            )


GoalText = Annotated[
    str,
    Field(
        strict=True,
        description=f"A work goal as written, 1 to {MAX_GOAL_CHARS} characters once trimmed.",
        examples=["Close 20 deals per month"],
    ),
    AfterValidator(check_goal_text),
]
goal_text_adapter: TypeAdapter[str] = TypeAdapter(GoalText)
ContextText = Annotated[str, AfterValidator(check_context_text)]


def goal_problems(exc: ValidationError) -> str:
    """The messages of a failed goal validation, as one sentence a person can act on."""
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


class ClassifyRequest(BaseModel):
    """One goal to classify."""

    model_config = ConfigDict(extra="forbid")

    goal: GoalText


class Probabilities(BaseModel):
    """The embedded classifier's calibrated probability of each kind; they sum to 1."""

    outcome: float = Field(ge=0, le=1)
    performance: float = Field(ge=0, le=1)
    mastery: float = Field(ge=0, le=1)

    def of(self, kind: Kind) -> float:
        """The probability of one kind."""
        return float(getattr(self, kind.value))


class Classification(BaseModel):
    """What kind a goal is, how sure the engine is, and why in plain words."""

    kind: Kind = Field(description="outcome, performance or mastery.")
    confidence: float = Field(
        ge=0, le=1, description="The embedded classifier's probability of the chosen kind."
    )
    probabilities: Probabilities
    certainty: Certainty | None = Field(
        default=None,
        description="What to tell a person: 'likely' when the embedded confidence is where answers were "
        "right 19 times in 20 on goals from writers the classifier was not trained on; 'unsure' under that, "
        "or when the goal is out of its range (another language, under three words, no verb). None when the "
        "LLM decided, whose answers carry no calibrated figure.",
    )
    unsure_because: str | None = Field(
        default=None, description="Why `certainty` is 'unsure', in words a person reads."
    )
    language: str = Field(
        default="en",
        description="The goal's language as detected (ISO 639-1, e.g. 'en', 'fr'); a goal with too little "
        "text to tell reads as 'en'. The embedded engine reads English only.",
    )
    reason: str = Field(description="What in the goal is or is not under the person's control.")
    engine: EngineName = Field(
        description="Which engine decided the kind: the embedded classifier or the LLM."
    )
    decision: str = Field(
        description="Why that engine decided: the confidence against the cascade threshold."
    )
    degraded: bool = Field(
        default=False,
        description="True when the answer is a fallback: the LLM should have decided but failed, or the goal "
        "is in a language the embedded engine cannot read and no LLM is configured.",
    )
    degraded_reason: str | None = Field(
        default=None,
        description="Short machine-readable reason for `degraded`, e.g. 'llm_timeout' or "
        "'unsupported_language'.",
    )
    llm: LLMTrace | None = Field(
        default=None, description="Model, prompt version and usage when the LLM was asked."
    )


class ClassifiedGoal(Classification):
    """A classification with the goal it is about (one CLI output line)."""

    goal: str


class ErrorDetail(BaseModel):
    """One problem with a request."""

    field: str = Field(description="Where the problem is, e.g. 'goal' or 'body'.")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorBody(BaseModel):
    """The body of every error answer (4xx, 503 and 500)."""

    error: str = Field(description="A short machine-readable code, e.g. 'invalid_request'.")
    message: str = Field(description="A sentence a person can act on.")
    details: list[ErrorDetail] = Field(default_factory=list)


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "ready", "loading", "failed", "draining"]
    reason: str | None = Field(
        default=None,
        description="Why the engine failed to load, when `status` is `failed`; the log has more.",
    )


class Scores(BaseModel):
    """How good a rewrite is, each score in [0, 1]."""

    controllability: float = Field(description="The classifier's probability that the rewrite is mastery.")
    rules_passed: float = Field(description="Share of the controllability rules the rewrite passes.")
    failed_rules: list[str] = Field(
        description="Rules it breaks: first_person, own_action, no_result_target, ..."
    )
    intent: float = Field(description="Embedding similarity to the original goal (its subject kept in view).")
    specificity: float = Field(description="Share of: an action, an object, a cadence or count.")
    overall: float = Field(description="Weighted blend used for ranking.")
    fluency_faults: list[str] = Field(
        default_factory=list,
        description="Slot-grammar faults: verb_in_noun_slot, cut_phrase, target_figure, ... (empty: fluent).",
    )


class RewriteContext(BaseModel):
    """Optional facts about the person, used to pick and word rewrites."""

    model_config = ConfigDict(extra="forbid")

    role: ContextText | None = Field(
        default=None, max_length=100, description="Job title, e.g. 'ward nurse'."
    )
    team: ContextText | None = Field(default=None, max_length=100, description="Team or department.")


class RewriteRequest(BaseModel):
    """One goal to rewrite as controllable goals."""

    model_config = ConfigDict(extra="forbid")

    goal: GoalText
    context: RewriteContext | None = None
    n: int = Field(default=3, ge=1, le=5, description="How many rewrites to return (1 to 5).")


class Rewrite(BaseModel):
    """A controllable (mastery) goal that serves the original result."""

    text: str = Field(description="A first-person goal the person fully controls.")
    serves: str = Field(description="The result from the original goal that this practice serves.")
    progress_measure: str = Field(description="What the person counts themselves.")
    cadence: str = Field(description="How often it is practised or checked.")
    rationale: str = Field(description="Why it is controllable, in plain words.")
    scores: Scores
    engine: EngineName = Field(description="Which engine wrote it.")


class RewriteResponse(BaseModel):
    """The goal's kind, ranked rewrites and coaching questions."""

    goal: str
    classification: Classification
    already_mastery: bool = Field(description="True when the goal is already a mastery goal.")
    message: str = Field(description="One sentence to show the person above the rewrites.")
    rewrites: list[Rewrite]
    coaching_questions: list[str]
    engine: EngineName = Field(description="Which engine wrote the rewrites.")
    degraded: bool = Field(
        default=False,
        description="True when the rewrites are a fallback: the LLM should have written them but failed, or "
        "the goal is in a language the embedded engine cannot read (then there are none).",
    )
    degraded_reason: str | None = Field(
        default=None, description="Short machine-readable reason for `degraded`, as in the classification."
    )
    llm: LLMTrace | None = None
