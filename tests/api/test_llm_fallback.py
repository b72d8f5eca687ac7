"""With the LLM endpoint hung, classify still answers within the deadline, and the breaker stops the cost."""

from __future__ import annotations

import time

import httpx

from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import build_engine, openai_llm
from service.schemas import Classification
from tests.hanging_server import HangingServer
from tests.serving import running, wait_until_loaded


def test_hung_llm_falls_back_within_the_deadline_then_the_open_breaker_skips_it(
    classifier: Classifier,
) -> None:
    with HangingServer().running() as hung:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            llm_base_url=hung.base_url,
            llm_timeout_s=0.5,
            llm_deadline_s=3.0,
            llm_max_attempts=5,
            llm_breaker_failures=1,
            llm_breaker_cooldown_s=300,
            cascade_threshold=1.0,
        )
        engine = build_engine(settings, classifier=classifier, llm=openai_llm(settings))
        app = create_app(settings, loader=lambda _: engine)
        with running(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
            assert wait_until_loaded(http).status_code == 200
            started = time.monotonic()
            first = Classification.model_validate(
                http.post("/v1/classify", json={"goal": "be a better leader"}).json()
            )
            elapsed = time.monotonic() - started
            assert (first.engine, first.degraded, first.degraded_reason) == ("embedded", True, "llm_timeout")
            assert elapsed < settings.llm_deadline_s + 2.0, f"took {elapsed:.2f}s"
            assert first.kind == "outcome"
            swallowed = hung.connections
            assert swallowed >= 2, "the hung endpoint was retried inside the deadline"

            second = Classification.model_validate(
                http.post("/v1/classify", json={"goal": "get promoted"}).json()
            )
            assert (second.degraded, second.degraded_reason) == (True, "llm_circuit_open")
            assert hung.connections == swallowed, "an open breaker sends nothing to the endpoint"
