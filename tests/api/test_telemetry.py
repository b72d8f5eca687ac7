"""Every answer carries a request id, and gets one access line with that id: no body, no query, no goal."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.cascade import Cascade
from service.config import Settings
from service.engine import Engine
from service.serving.logs import JsonFormatter, RequestIdFilter, WithholdExceptionMessages
from service.web.security import PAGE_POLICY
from tests.live_server import running, wait_until_loaded

CANARY = "Zanzibarquokka"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app logs at info, as the server's JSON handler writes it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(WithholdExceptionMessages())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def entries(buffer: io.StringIO) -> list[dict[str, Any]]:
    """The app's lines; the test's own client logs each URL it asks for (httpx, at info), query included."""
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    return [e for e in lines if e["logger"] != "httpx"]


def access_line(buffer: io.StringIO, rid: str) -> dict[str, Any]:
    (line,) = [e for e in entries(buffer) if e["logger"] == "service.access" and e["request_id"] == rid]
    return line


@pytest.fixture
def http(settings: Settings, embedded_engine: Engine) -> Iterator[httpx.Client]:
    with (
        running(create_app(settings, loader=lambda _: embedded_engine)) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
    ):
        assert wait_until_loaded(client).status_code == 200
        yield client


def test_a_sane_request_id_is_returned_and_stamps_the_access_line(
    http: httpx.Client, log_lines: io.StringIO
) -> None:
    answer = http.post(
        "/v1/classify", json={"goal": "Close 20 deals"}, headers={"X-Request-ID": "lb-1.a_B-9"}
    )
    assert answer.headers["x-request-id"] == "lb-1.a_B-9"
    line = access_line(log_lines, "lb-1.a_B-9")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/v1/classify", 200)
    assert line["duration_ms"] > 0


@pytest.mark.parametrize(
    "sent",
    [None, "", "has space", "semi;colon", "x" * 129, "ünicode", "{json}"],
    ids=["none", "empty", "space", "semicolon", "too-long", "non-ascii", "braces"],
)
def test_an_unusable_request_id_is_replaced_by_a_new_one(http: httpx.Client, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}
    given = http.get("/healthz", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert http.get("/healthz", headers=headers).headers["x-request-id"] != given, "a new id each time"


def test_no_goal_text_and_no_query_value_reaches_the_logs_at_info(
    http: httpx.Client, log_lines: io.StringIO
) -> None:
    goal = f"Get the {CANARY} account to renew"
    assert http.post("/v1/classify", json={"goal": goal}).status_code == 200
    rewrite = {"goal": goal, "n": 2, "context": {"role": f"{CANARY} manager"}}
    assert http.post("/v1/rewrite", json=rewrite).status_code == 200
    assert http.post("/v1/classify", json={"goal": goal, "extra": CANARY}).status_code == 422
    kinds = http.get(f"/v1/kinds?note={CANARY}", headers={"X-Request-ID": "with-query"})
    assert kinds.status_code == 200
    assert access_line(log_lines, "with-query")["path"] == "/v1/kinds"
    assert len([e for e in entries(log_lines) if e["logger"] == "service.access"]) == 4
    assert CANARY not in json.dumps(entries(log_lines))


class _Exploding:
    """A classifier with a bug."""

    def classify(self, goal: str) -> None:
        raise RuntimeError("a bug in the classifier")


class _ExplodingRewriter:
    """A rewriter with a bug."""

    async def rewrite(self, request: object) -> None:
        raise RuntimeError("a bug in the rewriter")


def test_an_unexpected_error_is_logged_under_its_request_id_and_counted_as_500(
    settings: Settings, embedded_engine: Engine, log_lines: io.StringIO
) -> None:
    broken = Engine(
        classifier=embedded_engine.classifier,
        cascade=Cascade(classifier=_Exploding(), settings=settings),  # type: ignore[arg-type]
        rewriter=embedded_engine.rewriter,
    )
    with (
        running(create_app(settings, loader=lambda _: broken)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        assert wait_until_loaded(http).status_code == 200
        answer = http.post(
            "/v1/classify", json={"goal": "be a better leader"}, headers={"X-Request-ID": "oops-1"}
        )
        # The app answered the error itself, so the connection stays open for the scrape.
        metrics = http.get("/metrics").text
    assert answer.status_code == 500
    logged = [e for e in entries(log_lines) if e["request_id"] == "oops-1"]
    assert [(e["logger"], e["level"]) for e in logged] == [
        ("service.api.errors", "error"),
        ("service.access", "info"),
    ]
    assert logged[1]["status"] == 500
    assert "builtins.RuntimeError (message withheld)" in logged[0]["exception"]
    assert 'goal_rewriter_http_requests_total{method="POST",route="/v1/classify",status="500"} 1.0' in metrics


@pytest.mark.parametrize(
    ("path", "body", "accept", "content_type"),
    [
        ("/v1/classify", {"json": {"goal": "be a better leader"}}, "application/json", "application/json"),
        ("/rewrite-form", {"data": {"goals": "be a better leader"}}, "text/html", "text/html; charset=utf-8"),
    ],
    ids=["api", "page"],
)
def test_a_500_carries_the_request_id_and_the_security_headers(
    settings: Settings,
    embedded_engine: Engine,
    path: str,
    body: dict[str, Any],
    accept: str,
    content_type: str,
) -> None:
    broken = Engine(
        classifier=embedded_engine.classifier,
        cascade=Cascade(classifier=_Exploding(), settings=settings),  # type: ignore[arg-type]
        rewriter=_ExplodingRewriter(),  # type: ignore[arg-type]
    )
    with (
        running(create_app(settings, loader=lambda _: broken)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        assert wait_until_loaded(http).status_code == 200
        answer = http.post(path, **body, headers={"X-Request-ID": "oops-2", "Accept": accept})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == content_type
    assert answer.headers["x-request-id"] == "oops-2"
    assert answer.headers["content-security-policy"] == PAGE_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "a bug in the" not in answer.text
