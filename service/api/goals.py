"""`/v1` routes about goals: classify, rewrite, and the taxonomy the answers use."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.auth import CallerDep, ClassifyCaller, RewriteCaller
from service.api.deps import CascadeDep, RewriterDep
from service.api.openapi import errors
from service.schemas import Classification, ClassifyRequest, RewriteRequest, RewriteResponse
from service.taxonomy import KINDS, KindInfo

router = APIRouter(prefix="/v1", tags=["goals"])


@router.post("/classify", responses=errors(400, 401, 403, 409, 413, 422, 429, 503))
async def classify(body: ClassifyRequest, cascade: CascadeDep, _: ClassifyCaller) -> Classification:
    """Say whether a goal is an outcome, performance or mastery goal, and why."""
    return await cascade.classify(body.goal)


@router.post("/rewrite", responses=errors(400, 401, 403, 409, 413, 422, 429, 503))
async def rewrite(body: RewriteRequest, rewriter: RewriterDep, _: RewriteCaller) -> RewriteResponse:
    """Classify a goal and propose controllable (mastery) rewrites that keep its result in view."""
    return await rewriter.rewrite(body)


@router.get("/kinds", responses=errors(401))
def kinds(_: CallerDep) -> list[KindInfo]:
    """The three kinds of goal, with definitions and examples from the source articles."""
    return list(KINDS.values())
