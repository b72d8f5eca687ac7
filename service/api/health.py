"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.deps import DrainingDep, EngineStateDep
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model_exclude_none=True)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "The engine is loading or failed, or it drains."}},
)
def readyz(engine: EngineStateDep, draining: DrainingDep, response: Response) -> Health:
    """The model and classifier are loaded and requests can be answered; 503 `draining` once stopping."""
    if draining.active:
        response.status_code = 503
        return Health(status="draining")
    if engine.ready:
        return Health(status="ready")
    response.status_code = 503
    if engine.failure is not None:
        return Health(status="failed", reason=engine.failure)
    return Health(status="loading")
