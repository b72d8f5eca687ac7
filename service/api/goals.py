"""`/v1` routes about goals: classify, rewrite, and the taxonomy the answers use."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.auth import CallerDep, ClassifyCaller, RewriteCaller
from service.api.deps import CascadeDep, RewriterDep
from service.schemas import Classification, ClassifyRequest, ErrorBody, RewriteRequest, RewriteResponse
from service.taxonomy import KINDS, KindInfo

router = APIRouter(prefix="/v1", tags=["goals"])
ACCESS_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No API key, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The API key lacks the scope this endpoint needs."},
    429: {"model": ErrorBody, "description": "The key's rate limit is reached; see Retry-After."},
}
# Answers any POST can get before its route runs: the body, its size, or its Idempotency-Key is refused.
BODY_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The body is not UTF-8, or the Idempotency-Key is malformed."},
    409: {"model": ErrorBody, "description": "A request with this Idempotency-Key is still running."},
    413: {"model": ErrorBody, "description": "The body is over the size limit."},
}
ERRORS: dict[int | str, dict[str, object]] = {
    **ACCESS_ERRORS,
    **BODY_ERRORS,
    422: {"model": ErrorBody, "description": "The goal or the body is not usable; the message says why."},
    503: {"model": ErrorBody, "description": "The engine is still loading; retry shortly."},
}


@router.post("/classify", responses=ERRORS)
async def classify(body: ClassifyRequest, cascade: CascadeDep, _: ClassifyCaller) -> Classification:
    """Say whether a goal is an outcome, performance or mastery goal, and why."""
    return await cascade.classify(body.goal)


@router.post("/rewrite", responses=ERRORS)
async def rewrite(body: RewriteRequest, rewriter: RewriterDep, _: RewriteCaller) -> RewriteResponse:
    """Classify a goal and propose controllable (mastery) rewrites that keep its result in view."""
    return await rewriter.rewrite(body)


@router.get("/kinds", responses=ACCESS_ERRORS)
def kinds(_: CallerDep) -> list[KindInfo]:
    """The three kinds of goal, with definitions and examples from the source articles."""
    return list(KINDS.values())
