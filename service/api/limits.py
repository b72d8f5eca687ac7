"""A cap on request bodies: a 413 before any route (or middleware inside this one) reads too many bytes."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.schemas import ErrorBody
from service.web.errors import TOO_LARGE, error_page, wants_html


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit:,} bytes"


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    # The server has already refused a Content-Length that is not a number; this is belt and braces.
    return int(value) if value is not None and value.isdigit() else None


class BodyLimitMiddleware:
    """Answers 413 when a request body is over `max_body_bytes`: the JSON error shape, or a page in plain
    words to a browser posting one of the page's forms.

    A Content-Length over the limit is refused before a byte of the body is read. A body without one
    (chunked) is counted as it arrives, and refused as soon as the count passes the limit: the route then
    receives `http.disconnect`, as the ASGI spec has servers do once a response is sent, and its own answer
    to that is dropped, since the 413 is already out.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send, f"its body is {declared:,} bytes")
            return
        received = 0
        app_started = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= self.max_body_bytes:
                return message
            if not app_started:
                refused = True
                await self._too_large(scope, receive, send, f"its body passed {received:,} bytes")
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal app_started
            if refused:
                return
            app_started = app_started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        # Close the connection: the rest of the body is not worth reading just to keep it alive.
        headers = {"Connection": "close"}
        response: Response
        if wants_html(scope):
            # A person gets plain words: byte counts mean nothing to them.
            response = error_page(TOO_LARGE, status_code=413, headers=headers)
        else:
            limit = self.max_body_bytes
            body = ErrorBody(
                error="body_too_large",
                message=f"The request is too large: {what}, and this service takes at most {_size(limit)} "
                f"({limit:,} bytes). Send fewer or shorter goals in one request.",
            )
            response = JSONResponse(body.model_dump(), status_code=413, headers=headers)
        await response(scope, receive, send)
