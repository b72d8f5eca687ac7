"""Offline rewrite report: are the embedded engine's top rewrites controllable, complete and on-subject?"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence

from pydantic import BaseModel

from evals.dataset import load_goals
from service.engine import Engine
from service.labelled import LabelledGoal, Split, in_split
from service.schemas import RewriteRequest, RewriteResponse
from service.scoring import score_rewrites
from service.taxonomy import Kind

# The baseline every rewrite must beat on intent: advice that fits any goal and so serves none.
GENERIC_TIP = "I will spend one hour a week learning."


class RewriteReport(BaseModel):
    """Figures over the outcome and performance goals of a split."""

    n: int
    top_is_mastery: float
    complete: float
    median_intent: float
    median_generic_intent: float
    mean_overall: float


async def rewrite_all(engine: Engine, rows: Sequence[LabelledGoal]) -> list[RewriteResponse]:
    """The engine's answer for each goal, in order."""
    return [await engine.rewriter.rewrite(RewriteRequest(goal=row.text)) for row in rows]


def report(engine: Engine, rows: Sequence[LabelledGoal]) -> tuple[RewriteReport, list[RewriteResponse]]:
    """Score the top rewrites of outcome and performance goals."""
    targets = [row for row in rows if row.label is not Kind.MASTERY]
    answers = asyncio.run(rewrite_all(engine, targets))
    classifier = engine.classifier
    tops = [a.rewrites[0] for a in answers if a.rewrites]
    generic = [
        score_rewrites(goal=r.text, rewrites=[GENERIC_TIP], classifier=classifier)[0].intent for r in targets
    ]
    every = [r for a in answers for r in a.rewrites]
    figures = RewriteReport(
        n=len(targets),
        # The same definition as the eval suite's rewrite.top_is_mastery: the score already holds P(mastery).
        top_is_mastery=sum(t.scores.controllability >= 0.5 for t in tops) / len(targets),
        complete=sum(bool(r.progress_measure.strip() and r.cadence.strip()) for r in every) / len(every),
        median_intent=statistics.median(t.scores.intent for t in tops),
        median_generic_intent=statistics.median(generic),
        mean_overall=statistics.fmean(t.scores.overall for t in tops),
    )
    return figures, answers


def report_split(engine: Engine, split: Split) -> str:
    """The report as text."""
    figures, _ = report(engine, in_split(load_goals(), split))
    return (
        f"== embedded rewrites, {split.value} split: {figures.n} outcome and performance goals ==\n"
        f"top rewrite classified mastery: {figures.top_is_mastery:.1%}\n"
        f"rewrites with a progress measure and a cadence: {figures.complete:.1%}\n"
        f"median intent similarity to the goal: top rewrite {figures.median_intent:.3f}  vs  generic tip "
        f'{figures.median_generic_intent:.3f} ("{GENERIC_TIP}")\n'
        f"mean overall score of the top rewrite: {figures.mean_overall:.3f}"
    )
