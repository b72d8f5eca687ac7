"""API keys: created once with their scopes, shown in full only at creation, verified by their hash."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from service.errors import KeyExists
from service.store.db import Database
from service.store.tables import ApiKeyRow, utcnow

KEY_PREFIX = "gr_"
PREFIX_CHARS = 8
MAX_NAME_CHARS = 100


class Scope(StrEnum):
    """What a key may do."""

    CLASSIFY = "classify"
    REWRITE = "rewrite"
    FEEDBACK = "feedback"
    ADMIN = "admin"


class ApiKey(BaseModel):
    """A key as the service shows it: never its hash or its plaintext."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Unique name of the key, e.g. the client it was issued to.")
    prefix: str = Field(description=f"The key's first {PREFIX_CHARS} characters, to recognise it.")
    scopes: frozenset[Scope] = Field(description="What the key may do.")
    created_at: datetime
    revoked_at: datetime | None = Field(default=None, description="When it was revoked; null while active.")

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _public(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class KeyStore:
    """Creates, lists, revokes and verifies API keys."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def create(self, *, name: str, scopes: Iterable[Scope]) -> tuple[ApiKey, str]:
        """A new key and its plaintext, which is not stored (show it once); `KeyExists` on a used name."""
        if not 1 <= len(name) <= MAX_NAME_CHARS or name != name.strip() or not name.isprintable():
            raise ValueError(
                f"key name {name!r}: use 1 to {MAX_NAME_CHARS} printable characters, "
                "with no leading or trailing spaces"
            )
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(
            name=name,
            key_hash=_hash(plaintext),
            prefix=plaintext[:PREFIX_CHARS],
            scopes=",".join(sorted(Scope(s).value for s in scopes)),
            created_at=utcnow(),
        )
        with self._db.sessions() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError as exc:
                # 32 random bytes never collide in key_hash, so the unique name is what was violated.
                raise KeyExists(
                    f"an API key named {name!r} already exists (revoked keys keep their name); "
                    "choose another name"
                ) from exc
            return _public(row), plaintext

    def list(self) -> builtins.list[ApiKey]:
        """Every key, active and revoked, oldest first."""
        with self._db.sessions() as session:
            rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))
            return [_public(row) for row in rows]

    def revoke(self, name: str) -> bool:
        """Revoke the key; False when there is no active key of that name."""
        with self._db.sessions() as session:
            result = session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def verify(self, plaintext: str) -> ApiKey | None:
        """The active key whose plaintext this is, else None (unknown or revoked)."""
        # The lookup is by hash, so response timing says nothing about how close a guess was.
        with self._db.sessions() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == _hash(plaintext))).first()
            if row is None or row.revoked_at is not None:
                return None
            return _public(row)

    def any_active(self) -> bool:
        """Whether at least one key is active."""
        with self._db.sessions() as session:
            return bool(session.scalar(select(exists().where(ApiKeyRow.revoked_at.is_(None)))))
