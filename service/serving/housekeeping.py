"""Periodic deletion of what the service must not keep: old feedback text and expired idempotent answers."""

from __future__ import annotations

import asyncio
import logging

from service.config import Settings
from service.store.feedback import FeedbackStore
from service.store.idempotency import IdempotencyStore

logger = logging.getLogger(__name__)


def tidy(*, feedback: FeedbackStore, idempotency: IdempotencyStore, settings: Settings) -> None:
    """Apply the feedback retention and drop idempotent answers older than their window, once."""
    emptied = feedback.apply_retention(days=settings.feedback_retention_days)
    expired = idempotency.purge_older_than(settings.idempotency_hours)
    if emptied or expired:
        logger.info(
            "housekeeping: %d feedback texts past retention deleted, %d idempotent answers", emptied, expired
        )


async def keep_tidy(*, feedback: FeedbackStore, idempotency: IdempotencyStore, settings: Settings) -> None:
    """Run `tidy` now and then every `housekeeping_seconds` until cancelled; a failed pass is logged."""
    while True:
        try:
            await asyncio.to_thread(tidy, feedback=feedback, idempotency=idempotency, settings=settings)
        except Exception:
            logger.exception("housekeeping pass failed; retrying at the next interval")
        await asyncio.sleep(settings.housekeeping_seconds)
