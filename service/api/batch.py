"""`POST /v1/batch`: many goals in one call, for HR tools sending a review cycle's goals."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.auth import CallerDep, spend
from service.api.deps import CascadeDep, RewriterDep, SettingsDep
from service.api.openapi import errors
from service.serving.batch import MAX_BATCH_ITEMS, BatchRequest, BatchResponse, run_batch
from service.store.keys import Scope

router = APIRouter(prefix="/v1", tags=["goals"])


@router.post(
    "/batch",
    responses=errors(400, 401, 403, 409, 413, 422, 429, 503),
    description=f"Classify or rewrite up to {MAX_BATCH_ITEMS} goals. Answers keep the order of the items, "
    "and an item that fails carries its own error instead of failing the batch. Each item counts once "
    "against the key's rate limit; the key needs the scope of every operation in the batch.",
)
async def batch(
    body: BatchRequest,
    request: Request,
    caller: CallerDep,
    cascade: CascadeDep,
    rewriter: RewriterDep,
    settings: SettingsDep,
) -> BatchResponse:
    """Many goals in one call."""
    for op in {item.op for item in body.items}:
        caller.require(Scope(op))
    await spend(request, caller, len(body.items))
    return await run_batch(body, cascade=cascade, rewriter=rewriter, concurrency=settings.batch_concurrency)
