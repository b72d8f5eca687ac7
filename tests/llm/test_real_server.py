"""End to end against a real OpenAI-compatible server (llama.cpp with a tiny base model) on loopback.

The model writes poor JSON and poor rewrites: that is the point. Every request must come back valid,
either the LLM's answer or a labelled fallback, within the deadline. Nothing here judges quality.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import build_engine, openai_llm
from service.schemas import Classification, RewriteResponse
from tests.live_server import running, wait_until_loaded
from tests.llama_server import llama_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DEADLINE_S = 40.0


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    with llama_server(ARTIFACTS / "llama-server.log") as base_url:
        yield base_url


@contextmanager
def service_for(server_url: str, classifier: Classifier, *, threshold: float) -> Iterator[httpx.Client]:
    """The service pointed at the server through its normal settings."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        llm_base_url=server_url,
        llm_model="gemma-3-270m",
        llm_timeout_s=30,
        llm_deadline_s=DEADLINE_S,
        llm_max_tokens=160,
        llm_max_reasks=1,
        cascade_threshold=threshold,
    )
    engine = build_engine(settings, classifier=classifier, llm=openai_llm(settings))
    with (
        running(create_app(settings, loader=lambda _: engine)) as base_url,
        httpx.Client(base_url=base_url, timeout=DEADLINE_S * 3) as client,
    ):
        assert wait_until_loaded(client).status_code == 200
        yield client


@pytest.fixture(scope="module")
def every_goal_to_the_llm(server_url: str, classifier: Classifier) -> Iterator[httpx.Client]:
    with service_for(server_url, classifier, threshold=1.0) as client:
        yield client


@pytest.fixture(scope="module")
def rewrites_by_the_llm(server_url: str, classifier: Classifier) -> Iterator[httpx.Client]:
    # The embedded classifier decides the kind here, so each rewrite request makes exactly one LLM ask.
    with service_for(server_url, classifier, threshold=0.0) as client:
        yield client


@pytest.mark.parametrize("goal", ["Close 20 deals per month", "be a better leader", "read one paper a week"])
def test_classify_through_a_real_server_answers_valid_within_the_deadline(
    every_goal_to_the_llm: httpx.Client, goal: str
) -> None:
    started = time.monotonic()
    response = every_goal_to_the_llm.post("/v1/classify", json={"goal": goal})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    answer = Classification.model_validate(response.json())
    assert answer.llm is not None
    assert answer.llm.usage.calls >= 1, "the request reached the server"
    assert answer.engine == "llm" or (answer.degraded and answer.degraded_reason)
    assert elapsed < DEADLINE_S + 10


@pytest.mark.parametrize("goal", ["Get my proposal approved by the board", "improve customer satisfaction"])
def test_rewrite_through_a_real_server_answers_valid_within_the_deadline(
    rewrites_by_the_llm: httpx.Client, goal: str
) -> None:
    started = time.monotonic()
    response = rewrites_by_the_llm.post("/v1/rewrite", json={"goal": goal, "n": 2})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    answer = RewriteResponse.model_validate(response.json())
    assert answer.rewrites, "an LLM answer or the playbook's"
    assert answer.engine == "llm" or (answer.degraded and answer.degraded_reason)
    assert answer.llm is not None
    assert answer.llm.usage.calls >= 1, "the request reached the server"
    assert all(r.progress_measure and r.cadence for r in answer.rewrites)
    assert elapsed < DEADLINE_S + 10
