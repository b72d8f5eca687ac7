"""Who is calling: the API key behind a request, its scopes, and the open mode used while no key exists."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import time
from collections.abc import Callable

from pydantic import BaseModel

from service.errors import Forbidden, Unauthorized
from service.store.keys import ApiKey, KeyStore, Scope

LOCAL_CALLER = "local"


class Caller(BaseModel):
    """The key a request was made with; `keyed` is False in open mode (no key exists, loopback only)."""

    name: str
    scopes: frozenset[Scope]
    keyed: bool

    def require(self, scope: Scope) -> None:
        """Raise `Forbidden` unless this caller holds `scope`."""
        if scope not in self.scopes and Scope.ADMIN not in self.scopes:
            raise Forbidden(
                f"the API key '{self.name}' lacks the '{scope.value}' scope; "
                f"create a key with it: goal-rewriter keys create --name NAME --scopes {scope.value}"
            )


def is_loopback(host: str | None) -> bool:
    """Whether a client or bind address is this machine."""
    if host in ("localhost", "testclient"):
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AccessControl:
    """Checks keys against the store, remembering answers for `ttl_s` so a request costs no query.

    A revoked key therefore stops working within `ttl_s` seconds on every replica.
    """

    def __init__(self, keys: KeyStore, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._ttl = ttl_s
        self._clock = clock
        self._verified: dict[str, tuple[float, ApiKey | None]] = {}
        self._any_active: tuple[float, bool] | None = None

    async def caller(self, *, authorization: str | None, client_host: str | None) -> Caller:
        """The caller behind these headers, or `Unauthorized` with what to send instead."""
        token = bearer_token(authorization)
        if not await self._keys_exist():
            if not is_loopback(client_host):
                raise Unauthorized(
                    "no API key exists yet, so only this machine may call the API; "
                    "create one with: goal-rewriter keys create --name NAME --scopes classify,rewrite"
                )
            return Caller(name=LOCAL_CALLER, scopes=frozenset(Scope), keyed=False)
        if token is None:
            raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
        key = await self._verify(token)
        if key is None:
            raise Unauthorized("the API key is not valid: it is unknown or was revoked")
        return Caller(name=key.name, scopes=frozenset(key.scopes), keyed=True)

    def forget(self) -> None:
        """Drop remembered answers (after creating or revoking a key in this process)."""
        self._verified.clear()
        self._any_active = None

    async def _keys_exist(self) -> bool:
        now = self._clock()
        if self._any_active is None or now - self._any_active[0] > self._ttl:
            self._any_active = (now, await asyncio.to_thread(self._keys.any_active))
        return self._any_active[1]

    async def _verify(self, token: str) -> ApiKey | None:
        # Remembered by digest: the plaintext key is never kept in memory longer than the request.
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        hit = self._verified.get(digest)
        if hit is not None and now - hit[0] <= self._ttl:
            return hit[1]
        key = await asyncio.to_thread(self._keys.verify, token)
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[digest] = (now, key)
        return key
