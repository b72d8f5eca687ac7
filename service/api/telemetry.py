"""Per-request telemetry: a request id, one access log line and the request metrics for every answer."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observe import observing
from service.serving.logs import request_id
from service.serving.prometheus import UNROUTED, Metrics

access_log = logging.getLogger("service.access")
# A caller's id is kept only when it cannot smuggle anything into a log line or a header.
REQUEST_ID_PATTERN = r"[A-Za-z0-9._-]{1,128}"
_SANE_ID = re.compile(REQUEST_ID_PATTERN)


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    if header is not None and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (`/v1/classify`), never the raw path."""
    # The router leaves the route it chose in the scope, which is the same dict all the way down.
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNROUTED


class Telemetry:
    """Gives each request an id (X-Request-ID in, out, and on its log records), counts and times it, and
    logs one line for it: method, path without the query string, status, duration. No body, so no goal."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(Headers(scope=scope).get("x-request-id"))
        # Not reset afterwards: each request runs in its own task, whose context ends with it, and the
        # handler of unexpected errors (outside every middleware) logs after this one has returned.
        request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        self.metrics.in_flight.inc()
        try:
            with observing(self.metrics):
                await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            method, path = scope["method"], scope["path"]
            self.metrics.request(method=method, route=route_template(scope), status=status, seconds=seconds)
            duration_ms = round(seconds * 1000, 1)
            access_log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                duration_ms,
                extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
            )
