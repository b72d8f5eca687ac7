"""Dependency aliases that hand routes what the app loaded once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.classifier import Classifier
from service.engine import EngineState


def get_engine(request: Request) -> EngineState:
    """The app's engine state, set up by the lifespan."""
    engine: EngineState = request.app.state.engine
    return engine


def get_classifier(engine: Annotated[EngineState, Depends(get_engine)]) -> Classifier:
    """The loaded classifier; 503 until it is ready."""
    return engine.classifier()


EngineDep = Annotated[EngineState, Depends(get_engine)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
