"""The employee page: `GET /`, the form post that answers it, and feedback on its rewrites (the page works
without JavaScript, and never holds an API key)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from service.api.deps import EngineStateDep, FeedbackStoreDep, PageLimiterDep
from service.errors import NotReady, RateLimited
from service.schemas import RewriteContext, goal_problems
from service.web.answers import answer_goals
from service.web.errors import feedback_rate_limited, goals_rate_limited, not_ready, wait_seconds
from service.web.feedback import WEB_KEY_NAME, FeedbackForm, feedback_problems
from service.web.goals_text import parse_paste
from service.web.page import STATIC_DIR, render_feedback, render_page

router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=STATIC_DIR)


@router.get("/")
def page(request: Request) -> HTMLResponse:
    """The empty form and the explainer of the three kinds."""
    return render_page(request)


@router.post("/rewrite-form")
async def rewrite_form(
    request: Request,
    state: EngineStateDep,
    limiter: PageLimiterDep,
    goals: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The page again, with each pasted goal's kind and rewrites, or what to change."""
    paste = parse_paste(goals)
    if paste.error is not None:
        return render_page(request, text=goals, role=role, error=paste.error, status_code=422)
    try:
        context = RewriteContext(role=role.strip() or None)
    except ValidationError as exc:
        problem = "it is over 100 characters" if len(role.strip()) > 100 else goal_problems(exc)
        error = f"Your job title could not be used: {problem}. Shorten it or leave it empty."
        return render_page(request, text=goals, role=role, error=error, status_code=422)
    try:
        rewriter = state.engine().rewriter
        await limiter.take(_client(request), cost=len(paste.goals))
        results = await answer_goals(goals=paste.goals, rewriter=rewriter, context=context)
    except NotReady as exc:
        # Its cause is logged where it arose (the load, the model that stopped); a person is told what to do.
        return render_page(request, text=goals, role=role, error=not_ready(exc), status_code=503)
    except RateLimited as exc:
        error = goals_rate_limited(exc)
        headers = {"Retry-After": str(wait_seconds(exc))}
        return render_page(request, text=goals, role=role, error=error, status_code=429, headers=headers)
    return render_page(request, text=goals, role=role, results=results, headings=paste.headings)


@router.post("/feedback-form")
async def feedback_form(
    request: Request,
    store: FeedbackStoreDep,
    limiter: PageLimiterDep,
    form: Annotated[FeedbackForm, Form()],
) -> HTMLResponse:
    """Record a person's verdict on one rewrite; a small page says so, or what went wrong (422, 429)."""
    try:
        item = form.feedback()
    except ValidationError as exc:
        return render_feedback(request, error=feedback_problems(exc), status_code=422)
    try:
        await limiter.take(_client(request))
    except RateLimited as exc:
        headers = {"Retry-After": str(wait_seconds(exc))}
        return render_feedback(request, error=feedback_rate_limited(exc), status_code=429, headers=headers)
    await asyncio.to_thread(store.record, item, key_name=WEB_KEY_NAME)
    return render_feedback(request, item=item)


def _client(request: Request) -> str:
    """Whose budget a page request spends: the address it came from (behind a proxy, the proxy's, unless
    the server is told to trust its X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"
