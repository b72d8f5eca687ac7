"""Many goals in one call: each item classified or rewritten on its own, a bounded number at a time."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.cascade import Cascade
from service.errors import GoalRewriterError, InvalidGoal
from service.rewriter import Rewriter
from service.schemas import (
    Classification,
    ErrorBody,
    RewriteContext,
    RewriteRequest,
    RewriteResponse,
    goal_problems,
    goal_text_adapter,
)

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 100
# Long enough for any goal the single endpoints accept, so an over-long goal is that item's error,
# not a rejection of the whole batch.
_ITEM_GOAL_CHARS = 20_000

ItemId = Annotated[
    str, Field(min_length=1, max_length=200, description="The caller's own id, echoed in the answer.")
]
ItemGoal = Annotated[
    str,
    Field(
        max_length=_ITEM_GOAL_CHARS,
        description="A work goal; one that breaks the goal rules fails only its own item.",
    ),
]


class ClassifyItem(BaseModel):
    """Classify one goal."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["classify"]
    id: ItemId
    goal: ItemGoal


class RewriteItem(BaseModel):
    """Rewrite one goal (with the same options as POST /v1/rewrite)."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["rewrite"]
    id: ItemId
    goal: ItemGoal
    context: RewriteContext | None = None
    n: int = Field(default=3, ge=1, le=5, description="How many rewrites to return (1 to 5).")


BatchItem = Annotated[ClassifyItem | RewriteItem, Field(discriminator="op")]


class BatchRequest(BaseModel):
    """Up to MAX_BATCH_ITEMS goals, each to classify or rewrite."""

    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description=f"1 to {MAX_BATCH_ITEMS} items; answers come back in the same order.",
    )

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[ClassifyItem | RewriteItem]) -> list[ClassifyItem | RewriteItem]:
        repeated = sorted(id_ for id_, count in Counter(item.id for item in items).items() if count > 1)
        if repeated:
            raise ValueError(f"each item needs its own id; repeated: {', '.join(repeated)}")
        return items


class BatchResult(BaseModel):
    """One item's answer: a result, or the error that item alone hit."""

    id: str
    op: Literal["classify", "rewrite"]
    status: Literal["ok", "error"]
    classification: Classification | None = Field(default=None, description="Set for an ok classify item.")
    rewrite: RewriteResponse | None = Field(default=None, description="Set for an ok rewrite item.")
    error: ErrorBody | None = Field(default=None, description="Set when the item failed.")


class BatchResponse(BaseModel):
    """The answers, in the order of the request's items."""

    items: list[BatchResult]


async def run_batch(
    request: BatchRequest, *, cascade: Cascade, rewriter: Rewriter, concurrency: int
) -> BatchResponse:
    """Answer every item, at most `concurrency` at a time; one item's failure never fails the batch."""
    gate = asyncio.Semaphore(concurrency)

    async def answer(item: ClassifyItem | RewriteItem) -> BatchResult:
        async with gate:
            try:
                return await _answer_item(item, cascade=cascade, rewriter=rewriter)
            except InvalidGoal as exc:
                return _failed(item, "invalid_goal", str(exc))
            except GoalRewriterError as exc:
                return _failed(item, "item_failed", str(exc))
            except Exception:
                logger.exception("batch item %s failed", item.op)
                return _failed(item, "internal", "Something went wrong on our side; the error was logged.")

    return BatchResponse(items=list(await asyncio.gather(*(answer(item) for item in request.items))))


async def _answer_item(
    item: ClassifyItem | RewriteItem, *, cascade: Cascade, rewriter: Rewriter
) -> BatchResult:
    try:
        goal = goal_text_adapter.validate_python(item.goal)
    except ValidationError as exc:
        raise InvalidGoal(goal_problems(exc)) from exc
    if isinstance(item, ClassifyItem):
        return BatchResult(id=item.id, op=item.op, status="ok", classification=await cascade.classify(goal))
    answer = await rewriter.rewrite(RewriteRequest(goal=goal, context=item.context, n=item.n))
    return BatchResult(id=item.id, op=item.op, status="ok", rewrite=answer)


def _failed(item: ClassifyItem | RewriteItem, code: str, message: str) -> BatchResult:
    return BatchResult(id=item.id, op=item.op, status="error", error=ErrorBody(error=code, message=message))
