"""Answers stored under an Idempotency-Key, so a retried request gets the first answer again."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.tables import IdempotencyRow, aware, utcnow

MAX_IDEM_KEY_CHARS = 255


class StoredAnswer(BaseModel):
    """The answer first given to a request with this key."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    request_hash: str = Field(description="Hash of the request the answer was for, to spot a reused key.")
    status_code: int
    body: str


class IdempotencyStore:
    """Stored answers per (API key name, Idempotency-Key)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, *, key_name: str, idem_key: str) -> StoredAnswer | None:
        """The stored answer, if any."""
        with self._db.sessions() as session:
            row = session.get(IdempotencyRow, (key_name, idem_key))
            return None if row is None else StoredAnswer.model_validate(row)

    def put(
        self,
        *,
        key_name: str,
        idem_key: str,
        request_hash: str,
        status_code: int,
        body: str,
        subject: str | None = None,
    ) -> StoredAnswer:
        """Store an answer unless one is stored already: the first writer wins; all get its answer.
        `subject` is the person the request named, so that erasing them erases this answer too."""
        if not 1 <= len(idem_key) <= MAX_IDEM_KEY_CHARS or not idem_key.isprintable():
            raise ValueError(f"an Idempotency-Key is 1 to {MAX_IDEM_KEY_CHARS} printable characters")
        answer = StoredAnswer(request_hash=request_hash, status_code=status_code, body=body)
        row = IdempotencyRow(
            key_name=key_name, idem_key=idem_key, subject=subject, created_at=utcnow(), **answer.model_dump()
        )
        with self._db.sessions() as session:
            session.add(row)
            try:
                session.commit()
                return answer
            except IntegrityError:
                pass  # another request stored its answer first: that one is returned
        existing = self.get(key_name=key_name, idem_key=idem_key)
        # None only if a purge removed the winner's row in between; the key is then free again.
        return existing or self.put(
            key_name=key_name,
            idem_key=idem_key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            subject=subject,
        )

    def purge_older_than(self, hours: float, *, now: datetime | None = None) -> int:
        """Delete answers stored more than `hours` ago; the number deleted."""
        cutoff = aware(now) - timedelta(hours=hours)
        with self._db.sessions() as session:
            result = session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < cutoff))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
