"""`/v1/feedback`: which rewrite a person kept or rejected, and erasing one person's records."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, status

from service.api.auth import AdminCaller, FeedbackCaller
from service.api.deps import FeedbackStoreDep
from service.api.openapi import errors
from service.store.feedback import Erasure, FeedbackIn, FeedbackRecord

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 409, 413, 422, 429),
)
async def record_feedback(
    body: FeedbackIn, store: FeedbackStoreDep, caller: FeedbackCaller
) -> FeedbackRecord:
    """Record that a person kept or rejected a rewrite; the answer comes once the record is durable."""
    key_name = caller.name if caller.keyed else None
    return await asyncio.to_thread(store.record, body, key_name=key_name)


@router.delete(
    "/feedback",
    responses=errors(
        401, 403, 422, 429, described={422: "`subject` is missing, empty or over 200 characters."}
    ),
)
async def erase_feedback(
    store: FeedbackStoreDep,
    _: AdminCaller,
    subject: str = Query(min_length=1, max_length=200, description="The person whose records to delete."),
) -> Erasure:
    """Delete every feedback record of one person, and every stored idempotent answer that repeats one (the
    right to erasure); needs the admin scope."""
    return await asyncio.to_thread(store.erase_subject, subject)
