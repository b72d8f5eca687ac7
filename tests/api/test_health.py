"""Liveness answers at once; readiness waits for the engine."""

from __future__ import annotations

import threading

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from service.engine import Engine
from service.errors import ArtifactError
from tests.live_server import running, wait_until_loaded


def test_readyz_is_503_until_the_engine_loads(settings: Settings, embedded_engine: Engine) -> None:
    release = threading.Event()

    def slow_loader(_: Settings) -> Engine:
        release.wait(timeout=30)
        return embedded_engine

    with (
        running(create_app(settings, loader=slow_loader)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 503
        busy = http.post("/v1/classify", json={"goal": "Close 20 deals per month"})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "5"
        assert "still loading" in busy.json()["message"]
        release.set()
        assert wait_until_loaded(http).status_code == 200
        assert http.post("/v1/classify", json={"goal": "Close 20 deals per month"}).status_code == 200


def test_a_broken_artifact_is_reported_not_crashed(settings: Settings) -> None:
    def broken_loader(_: Settings) -> Engine:
        raise ArtifactError("No classifier head at /nowhere. Run `make train`.")

    with (
        running(create_app(settings, loader=broken_loader)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        assert wait_until_loaded(http).json() == {
            "status": "failed",
            "reason": "No classifier head at /nowhere. Run `make train`.",
        }
        answer = http.post("/v1/classify", json={"goal": "Close 20 deals per month"})
        assert answer.status_code == 503
        assert "failed to load" in answer.json()["message"]
        assert "make train" in answer.json()["message"]
        assert http.get("/healthz").status_code == 200


def test_any_failure_while_loading_makes_readyz_503_with_the_reason(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def crashing_loader(_: Settings) -> Engine:
        raise ValueError("playbook.jsonl:12: cadence 'hourly' is not one of the cadences")

    with (
        running(create_app(settings, loader=crashing_loader)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        ready = wait_until_loaded(http)
        assert ready.status_code == 503
        assert ready.json()["status"] == "failed"
        assert "playbook.jsonl:12" in ready.json()["reason"]
        assert http.post("/v1/classify", json={"goal": "Close 20 deals per month"}).status_code == 503
    (record,) = [r for r in caplog.records if r.name == "service.engine"]
    assert record.levelname == "ERROR"
    assert "fix the cause" in record.getMessage()
    assert record.exc_info is not None
