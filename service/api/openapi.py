"""What the OpenAPI document says beyond each route's own signature: the error answers, in one shape, and
the headers that middleware reads and writes (`Idempotency-Key`, `X-Request-ID`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

from service.api.idempotency import KEY_PATTERN, honours_idempotency_key
from service.api.telemetry import REQUEST_ID_PATTERN
from service.schemas import ErrorBody

DESCRIPTION = """\
Every error answer has one shape, `ErrorBody`: a code, a sentence that says what to change and, for a
request that fails validation, one entry per problem. A 500 (`internal`) has it too; it is a bug.

Each operation lists only the errors it can give. A GET or a DELETE takes no body and no Idempotency-Key,
so it has no 400, 409 or 413. Only the operations that run the engine (classify, rewrite, batch) answer 503
while it loads. `GET /v1/kinds` needs a key but no scope and spends no rate budget: its one error is 401.

Every `/v1` POST honours an `Idempotency-Key`, and every answer carries an `X-Request-ID`.
"""

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "description": "The body is not UTF-8 or is nested too deeply to read, or the Idempotency-Key is "
        "malformed."
    },
    401: {
        "description": "No API key, or an unknown or revoked one (before the first key exists: a caller "
        "that is not this machine).",
        "headers": {
            "WWW-Authenticate": {"description": "`Bearer`.", "required": True, "schema": {"type": "string"}}
        },
    },
    403: {
        "description": "The API key lacks the scope this operation needs, or a browser sent the request "
        "from another website."
    },
    409: {
        "description": "The first request with this Idempotency-Key is still running.",
        "headers": _RETRY_AFTER,
    },
    413: {"description": "The body is over the size limit (`GOAL_MAX_BODY_BYTES`)."},
    422: {
        "description": "The request cannot be used, or its Idempotency-Key was first used with another "
        "body; the message says what to change."
    },
    429: {"description": "The key's rate limit is reached.", "headers": _RETRY_AFTER},
    503: {
        "description": "The engine is still loading, failed to load, or its model processes stopped.",
        "headers": _RETRY_AFTER,
    },
}

REQUEST_ID = "X-Request-ID"
IDEMPOTENCY_KEY = "Idempotency-Key"
_PARAMETERS = {
    REQUEST_ID: {
        "name": REQUEST_ID,
        "in": "header",
        "required": False,
        "description": "Your id for this request, sent back in the answer's X-Request-ID and logged with "
        "it. Another value (or none) gets a new id.",
        "schema": {"type": "string", "pattern": f"^{REQUEST_ID_PATTERN}$"},
    },
    IDEMPOTENCY_KEY: {
        "name": IDEMPOTENCY_KEY,
        "in": "header",
        "required": False,
        "description": "Send the same key again to retry safely: a retry with the same body gets the first "
        "answer back (with `Idempotent-Replayed: true`) without running again, for "
        "`GOAL_IDEMPOTENCY_HOURS`.",
        "schema": {"type": "string", "pattern": f"^{KEY_PATTERN}$"},
    },
}
_REQUEST_ID_HEADER = {
    "description": "The request's id: the caller's X-Request-ID when it was usable, else a new one.",
    "required": True,
    "schema": {"type": "string"},
}
_REQUEST_ID_HEADER_REF = {"$ref": f"#/components/headers/{REQUEST_ID}"}


def errors(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """A route's `responses`: each status as an `ErrorBody`, with the usual description unless `described`
    words it for that route."""
    described = described or {}
    return {
        status: {
            **_ERRORS[status],
            "model": ErrorBody,
            "description": described.get(status, _ERRORS[status]["description"]),
        }
        for status in statuses
    }


def declare_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Add X-Request-ID to every operation, in and out, and Idempotency-Key to the operations that honour
    it; running it again on the same document changes nothing."""
    components = document.setdefault("components", {})
    components.setdefault("parameters", {}).update(_PARAMETERS)
    components.setdefault("headers", {})[REQUEST_ID] = _REQUEST_ID_HEADER
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            names = [REQUEST_ID]
            if honours_idempotency_key(method=method, path=path):
                names.append(IDEMPOTENCY_KEY)
            parameters = operation.setdefault("parameters", [])
            for name in names:
                reference = {"$ref": f"#/components/parameters/{name}"}
                if reference not in parameters:
                    parameters.append(reference)
            for response in operation["responses"].values():
                response.setdefault("headers", {})[REQUEST_ID] = _REQUEST_ID_HEADER_REF
    return document


def install_openapi(app: FastAPI) -> None:
    """Have `app.openapi()` (and so `/openapi.json`, `/docs` and `/redoc`) declare the headers too."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI keeps the generated document and returns that same dict on later calls: declaring the
        # headers again on it finds them there already.
        return declare_headers(generate())

    # Replacing this method is FastAPI's documented way to change the document it serves.
    app.openapi = openapi  # type: ignore[method-assign]
