"""Renders the employee page from its Jinja2 templates (autoescaped: goal text is always shown as text)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service import __version__
from service.store.feedback import FeedbackIn
from service.taxonomy import KIND_ORDER, KINDS
from service.web.answers import GoalResult
from service.web.feedback import feedback_fields
from service.web.goals_text import MAX_GOALS, MAX_PASTE_CHARS

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.globals["feedback_fields"] = feedback_fields
NO_STORE = {"Cache-Control": "no-store"}

# Short words for each `degraded_reason` code the service gives (a test holds them to the codes in the
# source); a code this list does not know gets the words of the generic `llm_error`, never the code itself.
DEGRADED_WORDS = {
    "llm_error": "it gave no usable answer",
    "llm_unavailable": "it was not available",
    "llm_timeout": "it took too long",
    "llm_deadline": "it took too long",
    "llm_rate_limited": "it was busy",
    "llm_server_error": "it had an error",
    "llm_client_error": "it did not accept the request",
    "llm_connection": "it could not be reached",
    "llm_bad_response": "its answer could not be read",
    "llm_circuit_open": "it has been failing, so it is paused for a moment",
    "llm_output_invalid": "its answer was not usable",
    "llm_truncated": "its answer was cut short",
    "llm_content_filter": "its answer was held back by its content filter",
    "llm_refused": "it declined to answer",
    "llm_empty": "it answered with nothing",
    "llm_candidates_rejected": "its suggestions were not goals fully in your control",
}


def render_page(
    request: Request,
    *,
    text: str = "",
    role: str = "",
    results: list[GoalResult] | None = None,
    headings: tuple[str, ...] = (),
    error: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page with the form (holding `text` and `role`), the answers or the error, and the kinds
    explainer."""
    if text or role or results:
        # A person's goals and answers stay out of the browser's cache, where the next person at a shared
        # computer could page back to them; Back then asks before posting the goals again (docs/web-page.md).
        headers = {**(headers or {}), **NO_STORE}
    return templates.TemplateResponse(
        request,
        "page.html",
        {
            "text": text,
            "role": role,
            "results": results,
            "headings": headings,
            "error": error,
            "kinds": [KINDS[kind] for kind in KIND_ORDER],
            "kind_info": KINDS,
            "max_goals": MAX_GOALS,
            "max_chars": MAX_PASTE_CHARS,
            "degraded_words": DEGRADED_WORDS,
            "version": __version__,
        },
        status_code=status_code,
        headers=headers,
    )


def render_feedback(
    request: Request,
    *,
    item: FeedbackIn | None = None,
    error: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The small page that answers a feedback form: what was recorded, or why nothing was (never cached: it
    quotes the goal and the rewrite)."""
    return templates.TemplateResponse(
        request,
        "feedback.html",
        {"item": item, "error": error, "version": __version__},
        status_code=status_code,
        headers={**(headers or {}), **NO_STORE},
    )
