"""What the page tells a person when it cannot answer: what happened and what to do next, in plain words.

A browser's request off `/v1` gets these words as HTML, in an element with the id `error-message` that
page.js reads; the operator's detail stays in the log and in the JSON errors of `/v1` and API clients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi.responses import HTMLResponse
from starlette.datastructures import Headers
from starlette.types import Scope

from service import __version__
from service.errors import EngineBroken, NotReady, RateLimited
from service.web.page import templates


@dataclass(frozen=True)
class PageError:
    """An error page's heading, and its message: what happened and what to do next."""

    title: str
    message: str


STILL_STARTING = (
    "The goal rewriter is still starting up, so your goals could not be checked yet. "
    "Wait a minute, then press “Check my goals” again."
)
NOT_WORKING = (
    "The goal rewriter is not working at the moment, so your goals could not be checked. "
    "Please tell your IT helpdesk, and try again later."
)
CROSS_SITE = PageError(
    title="Form not accepted",
    message="This form was sent to the goal rewriter from another website, so it was not accepted. "
    "To check your goals, open the goal rewriter and paste them there.",
)
TOO_LARGE = PageError(
    title="Too much text",
    message="What you sent is too long for the goal rewriter to read. Paste fewer or shorter goals and try "
    "again.",
)
NO_SUCH_PAGE = PageError(
    title="Page not found",
    message="There is no page at this address. Open the goal rewriter to check your goals.",
)
NOT_UNDERSTOOD = PageError(
    title="Not understood",
    message="What your browser sent could not be read. Open the goal rewriter and try again.",
)
SERVER_ERROR = PageError(
    title="Something went wrong",
    message="Something went wrong on our side, so this could not be done. Try again in a minute; if it "
    "keeps happening, please tell your IT helpdesk.",
)


def wants_html(scope: Scope) -> bool:
    """Whether an error goes back as a page: the request is a browser's (it accepts HTML) and not for the
    API, whose callers keep the JSON error shape whatever they accept."""
    path: str = scope["path"]
    if path == "/v1" or path.startswith("/v1/"):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")


def not_ready(exc: NotReady) -> str:
    """Wait and retry while the engine starts; ask for help once waiting cannot help."""
    return NOT_WORKING if isinstance(exc, EngineBroken) else STILL_STARTING


def wait_seconds(exc: RateLimited) -> int:
    """Whole seconds to wait, the same in the message and in the Retry-After header."""
    return max(1, math.ceil(exc.retry_after))


def _seconds(count: int) -> str:
    return f"{count} second" if count == 1 else f"{count} seconds"


def goals_rate_limited(exc: RateLimited) -> str:
    """The page's answer to a paste over the person's budget."""
    return (
        f"You have checked many goals in a short time. Wait {_seconds(wait_seconds(exc))}, then press "
        "“Check my goals” again."
    )


def feedback_rate_limited(exc: RateLimited) -> str:
    """The page's answer to feedback over the person's budget (goals and feedback share it)."""
    return (
        f"You have used the goal rewriter a lot in a short time. Wait {_seconds(wait_seconds(exc))}, then "
        "press the button again."
    )


def for_status(status: int) -> PageError:
    """The words for an error the page's own routes do not answer themselves."""
    if status in (404, 405):
        return NO_SUCH_PAGE
    if status >= 500:
        return SERVER_ERROR
    return NOT_UNDERSTOOD


def error_page(
    error: PageError, *, status_code: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """A page of its own for an error met before, or outside, the page's routes."""
    html = templates.get_template("error.html").render(error=error, version=__version__)
    return HTMLResponse(html, status_code=status_code, headers=headers)
