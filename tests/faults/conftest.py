"""The fault server as a process, and the real service (real classifier, real uvicorn) pointed at it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import Engine, build_engine, openai_llm
from service.llm.breaker import BreakerState
from service.schemas import Classification, RewriteResponse
from tests.fault_server import FaultServer, fault_server
from tests.live_server import running, wait_until_loaded

T = TypeVar("T", Classification, RewriteResponse)
DEADLINE_S = 3.0
# A shared 2-core machine: answers must come within the deadline plus this, never within tight timings.
MARGIN_S = 5.0
# What the service's own clock may count past the deadline for the LLM's part: event-loop lag under load.
LLM_SLACK_S = 1.0
# The embedded classifier is sure of these; every one goes to the LLM only because the threshold is 1.
CLASSIFY_GOALS = (
    "Close 20 deals per month",
    "be a better leader",
    "get my proposal approved",
    "improve customer satisfaction",
)
# Not mastery, so each rewrite asks the LLM twice: to classify, then to rewrite.
REWRITE_GOALS = ("Get promoted this year", "reach top 3 in sales ranking")


class ManualClock:
    """The breaker's clock: it moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Answers:
    """What a burst of concurrent requests got back, with how long each took."""

    classified: list[tuple[Classification, float]]
    rewritten: list[tuple[RewriteResponse, float]]

    @property
    def slowest(self) -> float:
        return max(t for _, t in [*self.classified, *self.rewritten])


@dataclass
class Service:
    """The service under test, its breaker, and the clock that breaker reads."""

    http: httpx.Client
    engine: Engine
    clock: ManualClock

    def breaker_state(self) -> BreakerState:
        """The state of the breaker the cascade and the rewriter share, read now."""
        assert self.engine.llm is not None
        return self.engine.llm.breaker.state

    def classify(self, goal: str) -> tuple[Classification, float]:
        return _timed(self.http, "/v1/classify", {"goal": goal}, Classification)

    def rewrite(self, goal: str) -> tuple[RewriteResponse, float]:
        return _timed(self.http, "/v1/rewrite", {"goal": goal, "n": 2}, RewriteResponse)

    def burst(self) -> Answers:
        """Every classify and rewrite goal at once."""
        with ThreadPoolExecutor(max_workers=len(CLASSIFY_GOALS) + len(REWRITE_GOALS)) as pool:
            classified = [pool.submit(self.classify, g) for g in CLASSIFY_GOALS]
            rewritten = [pool.submit(self.rewrite, g) for g in REWRITE_GOALS]
            return Answers([f.result() for f in classified], [f.result() for f in rewritten])


def _timed(http: httpx.Client, path: str, body: dict[str, Any], model: type[T]) -> tuple[T, float]:
    started = time.monotonic()
    response = http.post(path, json=body)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return model.model_validate(response.json()), elapsed


# Each way the server fails, with the options it takes and the reason a fallback names.
FAULT_CASES: list[Any] = [
    pytest.param("hang", {}, "llm_timeout", id="hang"),
    pytest.param("429", {"retry_after": "1"}, "llm_rate_limited", id="429"),
    pytest.param("500", {}, "llm_server_error", id="500"),
    pytest.param("close", {}, "llm_connection", id="close-mid-body"),
    pytest.param("garbage", {"garbage": "not_json"}, "llm_bad_response", id="garbage-not-json"),
    pytest.param("garbage", {"garbage": "truncated"}, "llm_bad_response", id="garbage-truncated-json"),
    pytest.param("garbage", {"garbage": "not_completion"}, "llm_empty", id="garbage-not-a-completion"),
    pytest.param("garbage", {"garbage": "wrong_schema"}, "llm_output_invalid", id="garbage-wrong-schema"),
    pytest.param("slow", {"delay_s": 30}, "llm_timeout", id="slow-past-the-timeout"),
]


@pytest.fixture(scope="session")
def fault() -> Iterator[FaultServer]:
    """One fault server process for all these tests; each test sets the mode it needs."""
    with fault_server() as server:
        yield server


@contextmanager
def service(
    fault: FaultServer, classifier: Classifier, settings: Settings, **overrides: Any
) -> Iterator[Service]:
    """The app as `make run` builds it with GOAL_LLM_BASE_URL at the fault server, every goal to the LLM;
    `settings` are the session's (its throw-away database), with the LLM's settings over them."""
    options: dict[str, Any] = {
        "llm_base_url": fault.base_url,
        "llm_timeout_s": 1.0,
        "llm_deadline_s": DEADLINE_S,
        "llm_max_attempts": 3,
        "llm_max_reasks": 1,
        # Only the breaker tests let it open, so the other tests see each mode's own reason.
        "llm_breaker_failures": 1000,
        "cascade_threshold": 1.0,
    }
    chosen = Settings(_env_file=None, **{**settings.model_dump(), **options, **overrides})  # type: ignore[call-arg]
    clock = ManualClock()
    engine = build_engine(chosen, classifier=classifier, llm=openai_llm(chosen), breaker_clock=clock)
    with (
        running(create_app(chosen, loader=lambda _: engine)) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as http,
    ):
        assert wait_until_loaded(http).status_code == 200
        yield Service(http=http, engine=engine, clock=clock)
