"""`GET /metrics`: the app's Prometheus metrics, for a scraper (kept out of the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.api.deps import MetricsDep

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def scrape(request: Request, metrics: MetricsDep) -> Response:
    """Prometheus text format, or OpenMetrics when the scraper asks for it."""
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
