"""Dependency aliases that hand routes what the app loaded once.

The ones on every request's path are `async def` though they never await: FastAPI runs a plain `def`
dependency in a worker thread, a hop that cost more than the lookup itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.cascade import Cascade
from service.config import Settings
from service.engine import EngineState
from service.rewriter import Rewriter
from service.serving.draining import Draining
from service.serving.prometheus import Metrics
from service.serving.ratelimit import RateLimiter
from service.store.feedback import FeedbackStore


async def get_engine_state(request: Request) -> EngineState:
    """The app's engine state, set up by the lifespan."""
    state: EngineState = request.app.state.engine
    return state


async def get_settings_of(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_draining(request: Request) -> Draining:
    """Whether the server is draining before it stops."""
    draining: Draining = request.app.state.draining
    return draining


def get_feedback_store(request: Request) -> FeedbackStore:
    """The feedback store the lifespan opened."""
    store: FeedbackStore = request.app.state.feedback
    return store


def get_page_limiter(request: Request) -> RateLimiter:
    """The web page's budgets, one per client address (the page has no API key to count by)."""
    limiter: RateLimiter = request.app.state.page_limiter
    return limiter


async def get_cascade(state: Annotated[EngineState, Depends(get_engine_state)]) -> Cascade:
    """The classification cascade; 503 until the engine is ready."""
    return state.engine().cascade


async def get_rewriter(state: Annotated[EngineState, Depends(get_engine_state)]) -> Rewriter:
    """The rewriter; 503 until the engine is ready."""
    return state.engine().rewriter


SettingsDep = Annotated[Settings, Depends(get_settings_of)]
EngineStateDep = Annotated[EngineState, Depends(get_engine_state)]
CascadeDep = Annotated[Cascade, Depends(get_cascade)]
RewriterDep = Annotated[Rewriter, Depends(get_rewriter)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
DrainingDep = Annotated[Draining, Depends(get_draining)]
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
PageLimiterDep = Annotated[RateLimiter, Depends(get_page_limiter)]
