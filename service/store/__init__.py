"""The persistence layer: API keys, feedback and idempotent answers in SQLite or PostgreSQL.

SQLAlchemy and Alembic are imported only inside this package; callers use the stores' plain methods
(synchronous: the API calls them in a thread).
"""

from __future__ import annotations

from service.store.db import Database, open_database
from service.store.feedback import FeedbackIn, FeedbackRecord, FeedbackStore
from service.store.idempotency import IdempotencyStore, StoredAnswer
from service.store.keys import ApiKey, KeyStore, Scope

__all__ = [
    "ApiKey",
    "Database",
    "FeedbackIn",
    "FeedbackRecord",
    "FeedbackStore",
    "IdempotencyStore",
    "KeyStore",
    "Scope",
    "StoredAnswer",
    "open_database",
]
