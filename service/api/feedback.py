"""`/v1/feedback`: which rewrite a person kept or rejected, and erasing one person's records."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from service.api.auth import AdminCaller, FeedbackCaller
from service.api.deps import FeedbackStoreDep
from service.api.goals import ACCESS_ERRORS, BODY_ERRORS
from service.schemas import ErrorBody
from service.store.feedback import FeedbackIn, FeedbackRecord

router = APIRouter(prefix="/v1", tags=["feedback"])


class Erased(BaseModel):
    """How many records of one person were deleted."""

    subject: str
    deleted: int = Field(ge=0)


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ACCESS_ERRORS,
        **BODY_ERRORS,
        422: {"model": ErrorBody, "description": "The record is not usable."},
    },
)
async def record_feedback(
    body: FeedbackIn, store: FeedbackStoreDep, caller: FeedbackCaller
) -> FeedbackRecord:
    """Record that a person kept or rejected a rewrite; the answer comes once the record is durable."""
    key_name = caller.name if caller.keyed else None
    return await asyncio.to_thread(store.record, body, key_name=key_name)


@router.delete("/feedback", responses=ACCESS_ERRORS)
async def erase_feedback(
    store: FeedbackStoreDep,
    _: AdminCaller,
    subject: str = Query(min_length=1, max_length=200, description="The person whose records to delete."),
) -> Erased:
    """Delete every feedback record of one person (the right to erasure); needs the admin scope."""
    deleted = await asyncio.to_thread(store.erase_subject, subject)
    return Erased(subject=subject, deleted=deleted)
