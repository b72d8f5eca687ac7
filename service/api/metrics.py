"""`GET /metrics`: the app's Prometheus metrics, for a scraper (kept out of the OpenAPI document)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request, Response

from service.api.deps import MetricsDep, SettingsDep
from service.errors import Unauthorized

router = APIRouter(include_in_schema=False)


async def scraper(request: Request, settings: SettingsDep) -> None:
    """Admits anyone while `GOAL_METRICS_TOKEN` is unset; else only a request bearing that token."""
    if settings.metrics_token is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    # Compared in constant time, so the answer's timing tells nothing about how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise Unauthorized(
            "/metrics needs the metrics token: send 'Authorization: Bearer <GOAL_METRICS_TOKEN>' "
            "(in Prometheus, the scrape job's `authorization: {credentials: ...}`)"
        )


@router.get("/metrics", dependencies=[Depends(scraper)])
def scrape(request: Request, metrics: MetricsDep) -> Response:
    """Prometheus text format, or OpenMetrics when the scraper asks for it."""
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
