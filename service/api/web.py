"""The employee page: `GET /`, the form post that answers it, and feedback on its rewrites (the page works
without JavaScript, and never holds an API key)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from service.api.deps import EngineStateDep, FeedbackStoreDep
from service.errors import NotReady
from service.schemas import RewriteContext, goal_problems
from service.web.answers import answer_goals
from service.web.errors import not_ready
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
        results = await answer_goals(goals=paste.goals, rewriter=state.engine().rewriter, context=context)
    except NotReady as exc:
        # Its cause is logged where it arose (the load, the model that stopped); a person is told what to do.
        return render_page(request, text=goals, role=role, error=not_ready(exc), status_code=503)
    return render_page(request, text=goals, role=role, results=results)


@router.post("/feedback-form")
async def feedback_form(
    request: Request, store: FeedbackStoreDep, form: Annotated[FeedbackForm, Form()]
) -> HTMLResponse:
    """Record a person's verdict on one rewrite; a small page says so, or what went wrong (422)."""
    try:
        item = form.feedback()
    except ValidationError as exc:
        return render_feedback(request, error=feedback_problems(exc), status_code=422)
    await asyncio.to_thread(store.record, item, key_name=WEB_KEY_NAME)
    return render_feedback(request, item=item)
