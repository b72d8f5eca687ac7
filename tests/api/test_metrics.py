"""`/metrics`: requests by route, latency, which engine answered, LLM calls and tokens, the breaker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from service.app import create_app
from service.classifier import Classifier
from service.config import Settings
from service.engine import Engine, build_engine
from service.llm.client import ChatReply, FakeLLM, TransportError
from tests.live_server import running, serving_engine, wait_until_loaded

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> Samples:
    """Every sample of /metrics, keyed by name and labels."""
    answer = http.get("/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_requests_are_counted_by_route_template_and_status_with_latency_buckets(
    settings: Settings, embedded_engine: Engine
) -> None:
    with serving_engine(settings, embedded_engine, timeout_s=60) as (_base_url, http):
        assert http.post("/v1/classify", json={"goal": "Close 20 deals per month"}).status_code == 200
        assert http.post("/v1/classify", json={"goal": ""}).status_code == 422
        assert http.post("/v1/rewrite", json={"goal": "Close 20 deals per month", "n": 1}).status_code == 200
        assert http.get("/no/such/page-about-quokkas").status_code == 404
        samples = scrape(http)

    requests = "goal_rewriter_http_requests_total"
    assert value(samples, requests, method="POST", route="/v1/classify", status="200") == 1
    assert value(samples, requests, method="POST", route="/v1/classify", status="422") == 1
    assert value(samples, requests, method="POST", route="/v1/rewrite", status="200") == 1
    assert value(samples, requests, method="GET", route="unrouted", status="404") == 1
    assert not any("quokkas" in str(labels) for _, labels in samples), "a raw path became a label"

    latency = "goal_rewriter_http_request_duration_seconds"
    route = {"method": "POST", "route": "/v1/classify"}
    assert value(samples, f"{latency}_count", **route) == 2
    bounds = {dict(labels)["le"] for name, labels in samples if name == f"{latency}_bucket"}
    assert {"0.005", "30.0", "+Inf"} <= bounds
    assert value(samples, f"{latency}_bucket", le="+Inf", **route) == 2

    answers = "goal_rewriter_answers_total"
    # The rewrite classified its goal first: two classifications, one rewrite, all by the embedded engine.
    assert value(samples, answers, task="classify", engine="embedded", degraded="false") == 2
    assert value(samples, answers, task="rewrite", engine="embedded", degraded="false") == 1
    assert not any(name == "goal_rewriter_llm_breaker_state" for name, _ in samples), "no LLM, no breaker"


def test_metrics_are_prometheus_text_and_stay_out_of_the_openapi_document(
    settings: Settings, embedded_engine: Engine
) -> None:
    app = create_app(settings, loader=lambda _: embedded_engine)
    assert "/metrics" not in app.openapi()["paths"]
    with running(app) as base_url, httpx.Client(base_url=base_url) as http:
        answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE goal_rewriter_http_requests_total counter" in answer.text


def test_apps_in_one_process_keep_their_own_counts(settings: Settings, embedded_engine: Engine) -> None:
    first = create_app(settings, loader=lambda _: embedded_engine)
    second = create_app(settings, loader=lambda _: embedded_engine)
    with running(first) as base_url, httpx.Client(base_url=base_url) as http:
        assert wait_until_loaded(http).status_code == 200
        assert http.post("/v1/classify", json={"goal": "be a better leader"}).status_code == 200
    with running(second) as base_url, httpx.Client(base_url=base_url) as http:
        samples = scrape(http)
    assert (
        value(samples, "goal_rewriter_answers_total", task="classify", engine="embedded", degraded="false")
        is None
    )


VERDICT = '{"reason": "It depends on others.", "kind": "outcome"}'


@dataclass
class LLMRun:
    """Scrapes taken after an LLM answer, then after a failure that opens the breaker, then a skipped call."""

    answered: Samples
    failed: Samples
    skipped: Samples
    fake: FakeLLM


@pytest.fixture(scope="module")
def llm_run(classifier: Classifier) -> Iterator[LLMRun]:
    """One app whose every goal goes to a FakeLLM: it answers once (with usage), then fails once."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        cascade_threshold=1.0,
        llm_breaker_failures=1,
        llm_breaker_cooldown_s=3600,
    )
    fake = FakeLLM().enqueue(
        ChatReply(content=VERDICT, prompt_tokens=123, completion_tokens=45),
        TransportError("the endpoint is down", code="llm_connection", retryable=False),
    )
    engine = build_engine(settings, classifier=classifier, llm=fake)
    with (
        running(create_app(settings, loader=lambda _: engine)) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as http,
    ):
        assert wait_until_loaded(http).status_code == 200
        shots = []
        for goal in ("get my proposal approved", "be a better leader", "win the regional award"):
            assert http.post("/v1/classify", json={"goal": goal}).status_code == 200
            shots.append(scrape(http))
        yield LLMRun(*shots, fake=fake)


def test_llm_tokens_and_calls_are_counted_from_the_reply_usage(llm_run: LLMRun) -> None:
    samples = llm_run.answered
    assert value(samples, "goal_rewriter_llm_tokens_total", task="classify", type="prompt") == 123
    assert value(samples, "goal_rewriter_llm_tokens_total", task="classify", type="completion") == 45
    assert value(samples, "goal_rewriter_llm_requests_total", task="classify", outcome="ok") == 1
    assert value(samples, "goal_rewriter_llm_http_calls_total", task="classify") == 1
    assert value(samples, "goal_rewriter_answers_total", task="classify", engine="llm", degraded="false") == 1
    assert value(samples, "goal_rewriter_llm_breaker_state", state="closed") == 1


def test_an_open_breaker_shows_in_the_gauge(llm_run: LLMRun) -> None:
    for samples in (llm_run.failed, llm_run.skipped):
        assert value(samples, "goal_rewriter_llm_breaker_state", state="open") == 1
        assert value(samples, "goal_rewriter_llm_breaker_state", state="closed") == 0
        assert value(samples, "goal_rewriter_llm_breaker_state", state="half_open") == 0


def test_fallbacks_are_counted_by_reason_and_a_skipped_llm_costs_no_call(llm_run: LLMRun) -> None:
    samples = llm_run.skipped
    fallbacks = "goal_rewriter_fallbacks_total"
    assert value(samples, fallbacks, task="classify", reason="llm_connection") == 1
    assert value(samples, fallbacks, task="classify", reason="llm_circuit_open") == 1
    assert (
        value(samples, "goal_rewriter_answers_total", task="classify", engine="embedded", degraded="true")
        == 2
    )
    assert (
        value(samples, "goal_rewriter_llm_requests_total", task="classify", outcome="llm_circuit_open") == 1
    )
    assert value(samples, "goal_rewriter_llm_http_calls_total", task="classify") == 2
    assert len(llm_run.fake.history) == 2


def test_a_metrics_token_admits_only_the_scraper_that_sends_it(
    settings: Settings, embedded_engine: Engine
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("s3cret-scrape-token")})
    with (
        running(create_app(guarded, loader=lambda _: embedded_engine)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        refused = [
            http.get("/metrics"),
            http.get("/metrics", headers={"Authorization": "Bearer wrong-token"}),
            http.get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"}),
            http.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token-and-more"}),
        ]
        admitted = http.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        other = http.get("/healthz")
    for answer in refused:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"] == "unauthorized"
        assert "GOAL_METRICS_TOKEN" in answer.json()["message"]
        assert "s3cret" not in answer.text
    assert admitted.status_code == 200
    assert "# TYPE goal_rewriter_http_requests_total counter" in admitted.text
    assert other.status_code == 200, "the token guards /metrics only"
