"""Dependency aliases that hand routes what the app loaded once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.cascade import Cascade
from service.engine import EngineState
from service.rewriter import Rewriter


def get_engine_state(request: Request) -> EngineState:
    """The app's engine state, set up by the lifespan."""
    state: EngineState = request.app.state.engine
    return state


def get_cascade(state: Annotated[EngineState, Depends(get_engine_state)]) -> Cascade:
    """The classification cascade; 503 until the engine is ready."""
    return state.engine().cascade


def get_rewriter(state: Annotated[EngineState, Depends(get_engine_state)]) -> Rewriter:
    """The rewriter; 503 until the engine is ready."""
    return state.engine().rewriter


EngineStateDep = Annotated[EngineState, Depends(get_engine_state)]
CascadeDep = Annotated[Cascade, Depends(get_cascade)]
RewriterDep = Annotated[Rewriter, Depends(get_rewriter)]
