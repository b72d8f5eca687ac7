"""`/v1` routes about goals: classify, rewrite, and the taxonomy the answers use."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import CascadeDep, RewriterDep
from service.schemas import Classification, ClassifyRequest, ErrorBody, RewriteRequest, RewriteResponse
from service.taxonomy import KINDS, KindInfo

router = APIRouter(prefix="/v1", tags=["goals"])
ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorBody, "description": "The goal or the body is not usable; the message says why."},
    503: {"model": ErrorBody, "description": "The engine is still loading; retry shortly."},
}


@router.post("/classify", responses=ERRORS)
async def classify(body: ClassifyRequest, cascade: CascadeDep) -> Classification:
    """Say whether a goal is an outcome, performance or mastery goal, and why."""
    return await cascade.classify(body.goal)


@router.post("/rewrite", responses=ERRORS)
async def rewrite(body: RewriteRequest, rewriter: RewriterDep) -> RewriteResponse:
    """Classify a goal and propose controllable (mastery) rewrites that keep its result in view."""
    return await rewriter.rewrite(body)


@router.get("/kinds")
def kinds() -> list[KindInfo]:
    """The three kinds of goal, with definitions and examples from the source articles."""
    return list(KINDS.values())
