"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.deps import EngineStateDep
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Health, "description": "The engine is loading or failed."}})
def readyz(engine: EngineStateDep, response: Response) -> Health:
    """The model and classifier are loaded and requests can be answered."""
    if engine.ready:
        return Health(status="ready")
    response.status_code = 503
    return Health(status="failed" if engine.failure else "loading")
