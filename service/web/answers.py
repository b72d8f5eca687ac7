"""Answers every goal of a paste with the domain rewriter, keeping each goal's own error in its place."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict

from service.rewriter import Rewriter
from service.schemas import RewriteContext, RewriteRequest, RewriteResponse
from service.web.goals_text import PastedGoal

# The issue asks for 2-3 rewrites per goal; three gives a choice without a wall of text.
REWRITES_PER_GOAL = 3


class GoalResult(BaseModel):
    """What the page shows for one pasted goal: the answer, or why there is none."""

    model_config = ConfigDict(frozen=True)

    number: int
    goal: str
    answer: RewriteResponse | None = None
    error: str | None = None


async def answer_goals(
    *, goals: tuple[PastedGoal, ...], rewriter: Rewriter, context: RewriteContext | None = None
) -> list[GoalResult]:
    """Rewrite the usable goals concurrently (an LLM answers in parallel); the rest keep their error.
    `context` (the person's job title) applies to every goal of the paste."""

    async def one(number: int, pasted: PastedGoal) -> GoalResult:
        if pasted.error is not None:
            return GoalResult(number=number, goal=pasted.text, error=pasted.error)
        request = RewriteRequest(goal=pasted.text, n=REWRITES_PER_GOAL, context=context)
        answer = await rewriter.rewrite(request)
        return GoalResult(number=number, goal=pasted.text, answer=answer)

    return list(await asyncio.gather(*(one(n, g) for n, g in enumerate(goals, start=1))))
