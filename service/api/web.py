"""The employee page: `GET /` and the form post that answers it (the page works without JavaScript)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.api.deps import EngineStateDep
from service.errors import NotReady
from service.web.answers import answer_goals
from service.web.goals_text import parse_paste
from service.web.page import STATIC_DIR, render_page

router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=STATIC_DIR)


@router.get("/")
def page(request: Request) -> HTMLResponse:
    """The empty form and the explainer of the three kinds."""
    return render_page(request)


@router.post("/rewrite-form")
async def rewrite_form(
    request: Request, state: EngineStateDep, goals: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The page again, with each pasted goal's kind and rewrites, or what to change."""
    paste = parse_paste(goals)
    if paste.error is not None:
        return render_page(request, text=goals, error=paste.error, status_code=422)
    try:
        rewriter = state.engine().rewriter
    except NotReady as exc:
        return render_page(request, text=goals, error=str(exc), status_code=503)
    results = await answer_goals(goals=paste.goals, rewriter=rewriter)
    return render_page(request, text=goals, results=results)
