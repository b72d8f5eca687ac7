"""Security headers on every answer, and unsafe requests from other sites refused (no forged form posts)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.schemas import ErrorBody
from service.web.errors import CROSS_SITE, error_page, wants_html

# Scripts and styles only from files the app serves: no inline code, no CDN, nothing to inject into.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc load from a CDN with inline code, so those pages keep only the framing rule.
DOCS_POLICY = "frame-ancestors 'none'"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def docs_paths(app: FastAPI) -> frozenset[str]:
    """The paths of the app's interactive API docs."""
    paths = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    return frozenset(path for path in paths if path)


def cross_site(headers: Headers) -> bool:
    """Whether a browser sent this request from another site (Fetch Metadata first, Origin as fallback)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        # "same-site" is refused too: a sibling subdomain is not necessarily ours.
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        # Not a browser (curl, an HR tool's server): there is no user session to forge a request with.
        return False
    return urlsplit(origin).netloc != headers.get("host")


class SecurityMiddleware:
    """Adds CSP, nosniff and Referrer-Policy; answers 403 to a POST (or PUT, ...) made from another site,
    as a page in plain words to a browser posting a form, as JSON to the API."""

    def __init__(self, app: ASGIApp, *, relaxed_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.relaxed_paths = frozenset(relaxed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in self.relaxed_paths else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        if scope["method"] not in SAFE_METHODS and cross_site(Headers(scope=scope)):
            await _refusal(scope)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _refusal(scope: Scope) -> Response:
    """The 403 for a cross-site request: a page a person can read when a browser sent it, else JSON."""
    if wants_html(scope):
        return error_page(CROSS_SITE, status_code=403)
    body = ErrorBody(
        error="cross_site_request",
        message="This request came from another website and was refused. "
        "Open the goal-rewriter page itself and submit the form there.",
    )
    return JSONResponse(body.model_dump(), status_code=403)
