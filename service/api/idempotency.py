"""`Idempotency-Key` on `/v1` POSTs: a retried request gets the first answer back instead of running again."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import AccessDenied, IdempotencyInProgress, IdempotencyKeyReused
from service.schemas import ErrorBody
from service.serving.access import AccessControl
from service.store.idempotency import IdempotencyStore

HEADER = "idempotency-key"
KEY_PATTERN = r"[\x21-\x7e]{1,255}"
_KEY = re.compile(KEY_PATTERN)
# Answers that say "try again" or "not you" are not the request's answer, so they are not kept.
_NOT_KEPT = frozenset({401, 403, 408, 409, 413, 425, 429})


def honours_idempotency_key(*, method: str, path: str) -> bool:
    """Whether a request to `path` with `method` is kept and replayed by its Idempotency-Key."""
    return method.upper() == "POST" and path.startswith("/v1/")


def _kept(status: int) -> bool:
    return status < 500 and status not in _NOT_KEPT


class IdempotencyMiddleware:
    """Keeps the first answer per (API key, Idempotency-Key) in the store and replays it to retries.

    The body is read in full here: the body limit in front of this middleware bounds it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._running: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if (
            headers is None
            or not honours_idempotency_key(method=scope["method"], path=scope["path"])
            or HEADER not in headers
        ):
            await self.app(scope, receive, send)
            return
        idem_key = headers[HEADER]
        if not _KEY.fullmatch(idem_key):
            error = ErrorBody(
                error="invalid_idempotency_key",
                message="Idempotency-Key must be 1 to 255 printable ASCII characters",
            )
            await _send_error(send, error, status=400)
            return
        state = scope["app"].state
        access: AccessControl = state.access
        client = scope.get("client")
        try:
            caller = await access.caller(
                authorization=headers.get("authorization"), client_host=client[0] if client else None
            )
        except AccessDenied:
            # The route answers 401 itself; there is nobody to keep an answer for.
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256(b"%s %s\n%s" % (scope["method"].encode(), scope["path"].encode(), body))
        slot = (caller.name, idem_key)
        if slot in self._running:
            error = ErrorBody(
                error=IdempotencyInProgress.code,
                message="the first request with this Idempotency-Key is still running; retry in a moment",
            )
            await _send_error(send, error, status=IdempotencyInProgress.status, retry_after=True)
            return
        # Claimed before the first await, so a concurrent retry in this process sees it.
        self._running.add(slot)
        try:
            status, response_headers, payload = await self._answer(
                scope, receive, body=body, caller=caller.name, idem_key=idem_key, digest=digest.hexdigest()
            )
        finally:
            self._running.discard(slot)
        # Sent only once kept: an answer the caller saw is one a retry will get again.
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(
        self, scope: Scope, receive: Receive, *, body: bytes, caller: str, idem_key: str, digest: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The stored answer for this key, or the app's answer, kept for the next retry."""
        store: IdempotencyStore = scope["app"].state.idempotency
        stored = await asyncio.to_thread(store.get, key_name=caller, idem_key=idem_key)
        if stored is not None:
            if stored.request_hash != digest:
                error = ErrorBody(
                    error=IdempotencyKeyReused.code,
                    message="this Idempotency-Key was already used with a different request; "
                    "use a new key for a new request",
                )
                return _json(IdempotencyKeyReused.status, error.model_dump_json().encode())
            status, headers, payload = _json(stored.status_code, stored.body.encode())
            return status, [*headers, (b"idempotent-replayed", b"true")], payload
        status, headers, payload = await _capture(self.app, scope, body, receive)
        if not _kept(status):
            return status, headers, payload
        kept = await asyncio.to_thread(
            store.put,
            key_name=caller,
            idem_key=idem_key,
            request_hash=digest,
            status_code=status,
            body=payload.decode(),
            subject=_subject(body),
        )
        if kept.body != payload.decode() or kept.status_code != status:
            # Another replica answered the same key first: its answer is the one every retry will get.
            return _json(kept.status_code, kept.body.encode())
        return status, headers, payload


def _subject(body: bytes) -> str | None:
    """The person a request names (`subject`, as `POST /v1/feedback` takes it), so erasing them reaches
    the answer kept for it; None for a body without one (the route has already validated what it read)."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    subject = request.get("subject") if isinstance(request, dict) else None
    return subject if isinstance(subject, str) else None


def _json(status: int, payload: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    return status, headers, payload


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _capture(
    app: ASGIApp, scope: Scope, body: bytes, receive: Receive
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the request with its body already read, and collect the answer instead of sending it."""
    delivered = False

    async def replay_body() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    start: Message = {"status": 500, "headers": []}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, replay_body, collect)
    return start["status"], list(start.get("headers", [])), b"".join(chunks)


async def _send_error(send: Send, error: ErrorBody, *, status: int, retry_after: bool = False) -> None:
    status, headers, payload = _json(status, error.model_dump_json().encode())
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
