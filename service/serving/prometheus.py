"""Prometheus metrics of one app: requests and latency, which engine answered, LLM calls, tokens, breaker.

Each app has its own registry (never the process-wide default), so several apps in one process do not clash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from service.engine import EngineState
from service.llm.breaker import BreakerState, CircuitBreaker
from service.llm.structured import LLMTrace
from service.schemas import Classification, RewriteResponse

# From a cached classification (a few ms) to a rewrite that waits out the LLM deadline (30 s by default).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
# Requests no route answered share one label, so raw paths cannot multiply the series: those a middleware
# answered before routing (a refused cross-site post, a replayed idempotent answer) and those that matched
# nothing (scanners, typos).
UNROUTED = "unrouted"


class Metrics:
    """The app's metric objects; it observes the engine's answers (an `service.observe.Observer`)."""

    def __init__(self, *, breaker: Callable[[], CircuitBreaker | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "goal_rewriter_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "goal_rewriter_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "goal_rewriter_http_requests_in_flight", "Requests being answered now.", registry=self.registry
        )
        self.answers = Counter(
            "goal_rewriter_answers",
            "Classifications and rewrites, by the engine that gave them and whether it stood in for the LLM.",
            ["task", "engine", "degraded"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "goal_rewriter_fallbacks",
            "Answers the embedded engine gave because the LLM failed, by reason (llm_timeout, ...).",
            ["task", "reason"],
            registry=self.registry,
        )
        self.llm_requests = Counter(
            "goal_rewriter_llm_requests",
            "Answers asked of the LLM, by outcome: ok, or why there was none (llm_circuit_open: not asked).",
            ["task", "outcome"],
            registry=self.registry,
        )
        self.llm_calls = Counter(
            "goal_rewriter_llm_http_calls",
            "HTTP calls made to the LLM endpoint, retries and re-asks included.",
            ["task"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "goal_rewriter_llm_tokens",
            "Tokens the LLM endpoint reported, by type: prompt or completion.",
            ["task", "type"],
            registry=self.registry,
        )
        self.registry.register(_BreakerCollector(breaker))

    def request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def classified(self, answer: Classification) -> None:
        """Count a classification: its engine, its fallback, its LLM use."""
        self._answered("classify", answer.engine, answer.degraded, answer.degraded_reason, answer.llm)

    def rewritten(self, answer: RewriteResponse) -> None:
        """Count a rewrite (its classification is counted on its own)."""
        self._answered("rewrite", answer.engine, answer.degraded, answer.degraded_reason, answer.llm)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text or OpenMetrics), and its type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type

    def _answered(
        self, task: str, engine: str, degraded: bool, reason: str | None, trace: LLMTrace | None
    ) -> None:
        self.answers.labels(task, engine, "true" if degraded else "false").inc()
        outcome = (reason or "unknown") if degraded else "ok"
        if degraded:
            self.fallbacks.labels(task, outcome).inc()
        if trace is None:
            return
        self.llm_requests.labels(task, outcome).inc()
        self.llm_calls.labels(task).inc(trace.usage.calls)
        self.llm_tokens.labels(task, "prompt").inc(trace.usage.prompt_tokens)
        self.llm_tokens.labels(task, "completion").inc(trace.usage.completion_tokens)


def llm_breaker(state: EngineState) -> CircuitBreaker | None:
    """The LLM's circuit breaker, once the engine is loaded with an LLM."""
    if not state.ready:
        return None
    structured = state.engine().llm
    return structured.breaker if structured is not None else None


class _BreakerCollector:
    """The breaker's state, read when scraped, so an open breaker's cool-down shows as half_open in time."""

    def __init__(self, breaker: Callable[[], CircuitBreaker | None]) -> None:
        self._breaker = breaker

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        breaker = self._breaker()
        # No LLM configured: no breaker, so no samples rather than a state that does not exist.
        if breaker is not None:
            now = breaker.state
            for state in BreakerState:
                family.add_metric([state.value], 1.0 if state is now else 0.0)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "goal_rewriter_llm_breaker_state",
            "1 for the state the LLM's circuit breaker is in (closed, open, half_open), 0 for the others.",
            labels=["state"],
        )
