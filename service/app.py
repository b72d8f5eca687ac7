"""The app factory: builds a FastAPI app from settings, loading the engine once in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from service import __version__
from service.api import batch, docs, feedback, goals, health, web
from service.api.errors import UnexpectedErrors, install_error_handlers
from service.api.idempotency import IdempotencyMiddleware
from service.api.limits import BodyLimitMiddleware
from service.api.metrics import router as metrics_router
from service.api.openapi import DESCRIPTION, install_openapi
from service.api.telemetry import Telemetry
from service.config import Settings, get_settings
from service.engine import EngineLoader, EngineState, load_engine
from service.serving.access import AccessControl
from service.serving.draining import Draining
from service.serving.housekeeping import keep_tidy
from service.serving.prometheus import Metrics, llm_breaker
from service.serving.ratelimit import BudgetStore, RateLimiter
from service.store.db import Database, open_database
from service.store.feedback import FeedbackStore
from service.store.idempotency import IdempotencyStore
from service.store.keys import KeyStore
from service.web.security import SecurityMiddleware


def create_app(settings: Settings | None = None, *, loader: EngineLoader = load_engine) -> FastAPI:
    """A ready-to-serve app; `loader` builds the engine (tests pass one with a fake LLM)."""
    settings = settings or get_settings()
    engine = EngineState()
    metrics = Metrics(breaker=partial(llm_breaker, engine))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each request waiting on an embedding batch holds a thread: the default pool (cores + 4) would cap
        # how many can wait, and so how large a batch can grow.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="goal-worker")
        )
        database = await asyncio.to_thread(_open_stores, app, settings)
        budgets = _open_budgets(app, settings)
        loading = asyncio.create_task(engine.load(loader, settings))
        tidying = asyncio.create_task(
            keep_tidy(feedback=app.state.feedback, idempotency=app.state.idempotency, settings=settings)
        )
        yield
        tidying.cancel()
        await loading
        await engine.aclose()
        await budgets.aclose()
        database.dispose()

    app = FastAPI(
        title="goal-rewriter",
        version=__version__,
        summary="Says whether a work goal is an outcome, performance or mastery goal.",
        description=DESCRIPTION,
        lifespan=lifespan,
        # `service.api.docs` serves them instead, from files the app holds rather than from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.draining = Draining()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(goals.router)
    app.include_router(batch.router)
    app.include_router(feedback.router)
    app.include_router(web.router)
    app.include_router(metrics_router)
    app.include_router(docs.router)
    app.mount("/static", web.static_files, name="static")
    app.mount(docs.ASSETS_URL, docs.assets, name="docs-assets")
    install_openapi(app)
    app.add_middleware(IdempotencyMiddleware)
    # Inside the security headers (the 413 carries them), outside anything that reads the body.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    # Inside the request id and the security headers, so a 500 carries them too; outside the rest, so an
    # error in them is answered as well.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityMiddleware, policies=docs.POLICIES)
    # Added last, so outermost: it gives every answer, the other middleware's too, its id, log line and count.
    app.add_middleware(Telemetry, metrics=metrics)
    return app


def _open_stores(app: FastAPI, settings: Settings) -> Database:
    """Open and migrate the database, and put the stores and access checks on the app's state."""
    database = open_database(settings.database_url)
    database.migrate()
    app.state.feedback = FeedbackStore(database)
    app.state.idempotency = IdempotencyStore(database)
    app.state.access = AccessControl(KeyStore(database), ttl_s=settings.key_cache_seconds)
    return database


def _open_budgets(app: FastAPI, settings: Settings) -> BudgetStore:
    """The store of request budgets, and the API keys' and the page's limiters counting in it."""
    budgets = BudgetStore(settings.rate_limit_storage)
    app.state.limiter = RateLimiter(
        per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
        store=budgets,
        namespace="api-key",
    )
    app.state.page_limiter = RateLimiter(
        per_minute=settings.page_rate_limit_per_minute,
        burst=settings.page_rate_limit_burst,
        store=budgets,
        namespace="page-client",
    )
    return budgets
