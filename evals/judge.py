"""An optional LLM judge: rates each top rewrite with the sources' criteria and labels the original goal,
so its own agreement with the human labels can be reported beside its ratings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.cascade import definitions_text, goal_as_data
from service.errors import LLMError
from service.llm.client import Usage
from service.llm.prompts import render_prompt
from service.llm.structured import StructuredLLM, schema_text
from service.taxonomy import Kind


class JudgeVerdict(BaseModel):
    """What the judge says of one goal and its top rewrite."""

    model_config = ConfigDict(extra="forbid")

    goal_kind: Kind
    rewrite_controllable: bool
    rewrite_specific: bool
    rewrite_serves_goal: bool
    rewrite_restates_target: bool
    score: Literal[1, 2, 3, 4, 5]


class JudgeMetrics(BaseModel):
    """The judge's ratings, and how often it agrees with the human labels on the goals' kinds."""

    n: int
    agreement_with_labels: float = Field(
        description="Share of goals whose kind the judge labels as the humans did."
    )
    mean_score: float
    controllable: float
    specific: float
    serves_goal: float
    restates_target: float
    errors: int


class Judge:
    """Asks the configured LLM for a `JudgeVerdict`; a failed ask is an error, not a verdict."""

    def __init__(self, llm: StructuredLLM, prompts_dir: Path) -> None:
        self._llm = llm
        self._prompts_dir = prompts_dir

    async def verdict(self, goal: str, rewrite: str) -> tuple[JudgeVerdict | None, Usage, str | None]:
        """(verdict or None, what it cost, the error code if it failed)."""
        usage = Usage()
        prompt = render_prompt(
            self._prompts_dir,
            "judge",
            definitions=definitions_text(),
            schema=schema_text(JudgeVerdict),
            goal=goal_as_data(goal),
            rewrite=goal_as_data(rewrite),
        )
        try:
            answer = await self._llm.ask(prompt, JudgeVerdict, usage)
        except LLMError as exc:
            return None, usage, exc.code
        return answer.value, usage, None


def judge_metrics(labels: Sequence[Kind], verdicts: Sequence[JudgeVerdict | None]) -> JudgeMetrics | None:
    """Aggregate verdicts against the labels of the same goals; None when nothing was judged."""
    pairs = [(label, v) for label, v in zip(labels, verdicts, strict=True) if v is not None]
    if not verdicts:
        return None
    n = len(pairs)

    def share(flags: Sequence[bool]) -> float:
        return round(sum(flags) / n, 4) if n else 0.0

    return JudgeMetrics(
        n=n,
        agreement_with_labels=share([v.goal_kind is label for label, v in pairs]),
        mean_score=round(sum(v.score for _, v in pairs) / n, 4) if n else 0.0,
        controllable=share([v.rewrite_controllable for _, v in pairs]),
        specific=share([v.rewrite_specific for _, v in pairs]),
        serves_goal=share([v.rewrite_serves_goal for _, v in pairs]),
        restates_target=share([v.rewrite_restates_target for _, v in pairs]),
        errors=len(verdicts) - n,
    )
