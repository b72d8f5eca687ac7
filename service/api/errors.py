"""Maps errors to HTTP answers with a message a person can act on, never a stack trace: JSON, or for a
browser's request off the API a page in plain words (service/web/errors.py).

Known errors go through FastAPI's exception handlers; an unexpected one is answered by `UnexpectedErrors`,
a middleware inside the ones that add the request id and the security headers. Starlette would hand it to
its ServerErrorMiddleware, which sits outside every middleware, so its 500 carried neither.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import AccessDenied, InvalidGoal, NotReady, RateLimited
from service.schemas import ErrorBody, ErrorDetail
from service.web.errors import error_page, for_status, wants_html

logger = logging.getLogger(__name__)

_TYPE_MESSAGES = {
    "missing": "is required",
    "string_type": "must be text (a JSON string)",
    "extra_forbidden": "is not a field this endpoint knows; check its spelling",
    "model_attributes_type": 'must be a JSON object, e.g. {"goal": "Close 20 deals per month"}',
    "dict_type": 'must be a JSON object, e.g. {"goal": "Close 20 deals per month"}',
    "model_type": 'must be a JSON object, e.g. {"goal": "Close 20 deals per month"}',
}
# A form, multipart or text/plain body reaches validation as bytes, whatever it holds: name the header.
_BODY_NOT_OBJECT = (
    "must be a JSON object sent with Content-Type: application/json, "
    'e.g. {"goal": "Close 20 deals per month"}'
)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _detail(error: dict[str, Any]) -> ErrorDetail:
    kind = error.get("type", "")
    where = _location(tuple(error.get("loc", ())))
    if kind == "json_invalid":
        # Python's JSON messages end in " at" ("Invalid control character at"); the position comes apart.
        reason = str(error.get("ctx", {}).get("error", "invalid JSON")).removesuffix(" at")
        position = error.get("loc", ())[-1:]
        at = f" at character {position[0]}" if position and isinstance(position[0], int) else ""
        message = f"the body is not valid JSON ({reason}{at}); send a JSON object"
        return ErrorDetail(field="body", message=message)
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
    else:
        message = _TYPE_MESSAGES.get(kind, str(error.get("msg", "is not valid")))
        if where == "body" and kind in ("model_attributes_type", "dict_type", "model_type"):
            message = _BODY_NOT_OBJECT
        message = f"{where} {message}"
    return ErrorDetail(field=where, message=message)


def _answer(
    request: Request, status: int, body: ErrorBody, headers: Mapping[str, str] | None = None
) -> Response:
    if wants_html(request.scope):
        return error_page(for_status(status), status_code=status, headers=headers)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(error) for error in exc.errors()]
    message = "; ".join(d.message for d in details) or "the request is not valid"
    return _answer(request, 422, ErrorBody(error="invalid_request", message=message, details=details))


async def _invalid_goal(request: Request, exc: Exception) -> Response:
    return _answer(request, 422, ErrorBody(error="invalid_goal", message=str(exc)))


async def _not_ready(request: Request, exc: Exception) -> Response:
    body = ErrorBody(error="not_ready", message=str(exc))
    return _answer(request, 503, body, headers={"Retry-After": "5"})


async def _access_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessDenied)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return _answer(request, exc.status, ErrorBody(error=exc.code, message=str(exc)), headers=headers)


async def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    body = ErrorBody(error="rate_limited", message=str(exc))
    return _answer(request, 429, body, headers={"Retry-After": str(max(1, round(exc.retry_after)))})


def _unreadable_body(cause: BaseException | None) -> str:
    if isinstance(cause, RecursionError):
        return (
            "the body is nested too deeply to read (arrays or objects inside each other, thousands deep); "
            'send one flat JSON object, e.g. {"goal": "Close 20 deals per month"}'
        )
    if isinstance(cause, UnicodeError):
        return "the body could not be read: send a JSON object encoded as UTF-8"
    # Python's JSON reader also refuses a number of more than 4,300 digits this way.
    return (
        "the body could not be read as JSON: send one JSON object encoded as UTF-8, "
        'e.g. {"goal": "Close 20 deals per month"}'
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    if exc.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's wording for any body it could not decode; say what the caller can change.
        message = _unreadable_body(exc.__cause__)
    body = ErrorBody(error=f"http_{exc.status_code}", message=message)
    return _answer(request, exc.status_code, body, headers=exc.headers)


class UnexpectedErrors:
    """Answers an error no handler knows with a 500 (a page or JSON) and logs it with its traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def watched(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if answered:
                # Too late for another answer: the server logs it and closes the connection.
                raise
            request = Request(scope)
            logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
            body = ErrorBody(
                error="internal", message="Something went wrong on our side; the error was logged."
            )
            await _answer(request, 500, body)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per known error type (`UnexpectedErrors` answers the rest)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidGoal, _invalid_goal)
    app.add_exception_handler(NotReady, _not_ready)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(HTTPException, _http_error)
