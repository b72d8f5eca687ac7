"""The app factory: builds a FastAPI app from settings, loading the engine once in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.api import goals, health, web
from service.api.errors import install_error_handlers
from service.config import Settings, get_settings
from service.engine import EngineLoader, EngineState, load_engine
from service.web.security import SecurityMiddleware, docs_paths


def create_app(settings: Settings | None = None, *, loader: EngineLoader = load_engine) -> FastAPI:
    """A ready-to-serve app; `loader` builds the engine (tests pass one with a fake LLM)."""
    settings = settings or get_settings()
    engine = EngineState()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(engine.load(loader, settings))
        yield
        await loading
        await engine.aclose()

    app = FastAPI(
        title="goal-rewriter",
        version=__version__,
        summary="Says whether a work goal is an outcome, performance or mastery goal.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(goals.router)
    app.include_router(web.router)
    app.mount("/static", web.static_files, name="static")
    app.add_middleware(SecurityMiddleware, relaxed_paths=docs_paths(app))
    return app
