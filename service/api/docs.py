"""`/docs` (Swagger UI) and `/redoc` (ReDoc): the API's interactive docs, with every file they load served
by the app, so they work on a network that reaches nothing else."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service import __version__
from service.web.page import templates
from service.web.security import REDOC_POLICY, SWAGGER_POLICY

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs-assets"
POLICIES = {DOCS_URL: SWAGGER_POLICY, REDOC_URL: REDOC_POLICY}

router = APIRouter(include_in_schema=False)
# Swagger UI's and ReDoc's release bundles, as the fastapi-offline package ships them: upgrading that
# package upgrades them, and nothing is copied into this repository by hand.
assets = StaticFiles(packages=[("fastapi_offline", "static")])


def _render(request: Request, template: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": request.app.title,
            "openapi_url": request.app.openapi_url,
            "assets": ASSETS_URL,
            "version": __version__,
        },
    )


@router.get(DOCS_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, with a form to try it."""
    return _render(request, "swagger.html")


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same document as a reference to read."""
    return _render(request, "redoc.html")
