"""Security headers on every answer, and unsafe requests from other sites refused (no forged form posts)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.schemas import ErrorBody
from service.web.errors import CROSS_SITE, error_page, wants_html

# Scripts and styles only from files the app serves: no inline code, no CDN, nothing to inject into.
_PAGE = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
# The API docs pages run Swagger UI's and ReDoc's release bundles, which need a little more (found in
# Chromium); scripts stay 'self' only. Both draw icons as data: SVGs.
_SWAGGER = {**_PAGE, "img-src": "'self' data:"}
# ReDoc also adds two <style> elements, allowed by their hashes rather than by 'unsafe-inline': its
# styled-components sheet, created empty (the rules go in through the CSSOM, which CSP does not govern),
# and perfect-scrollbar's stylesheet as this ReDoc release bundles it. A new release may change that one:
# the browser test then fails on the CSP error, which names the new hash. Its search index runs in a worker
# made from a blob: URL, which only a script of the page itself can create.
_REDOC = {
    **_SWAGGER,
    "style-src": "'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    "worker-src": "blob:",
}


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PAGE_POLICY = _policy(_PAGE)
SWAGGER_POLICY = _policy(_SWAGGER)
REDOC_POLICY = _policy(_REDOC)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    """Adds CSP (`PAGE_POLICY`, or the one `policies` gives a path), nosniff and Referrer-Policy; answers 403
    to a POST (or PUT, ...) made from another site, as a page in plain words to a browser posting a form,
    as JSON to the API."""

    def __init__(self, app: ASGIApp, *, policies: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.policies = dict(policies or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policies.get(scope["path"], PAGE_POLICY)

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
