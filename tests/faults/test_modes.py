"""Each way an OpenAI-compatible server fails, against the real service: every request still answers in time.

The fault server runs as its own process on loopback; the service runs on a real uvicorn server with the
real embedded engine, and every goal goes to the LLM (cascade threshold 1).
"""

from __future__ import annotations

from typing import Any

import pytest

from service.classifier import Classifier
from service.config import Settings
from tests.fault_server import FaultServer, Mode
from tests.faults.conftest import (
    CLASSIFY_GOALS,
    DEADLINE_S,
    FAULT_CASES,
    LLM_SLACK_S,
    MARGIN_S,
    REWRITE_GOALS,
    service,
)

# A classify request makes one ask; a rewrite request two (the kind, then the rewrites).
ASKS = len(CLASSIFY_GOALS) + 2 * len(REWRITE_GOALS)


@pytest.mark.parametrize(("mode", "options", "reason"), FAULT_CASES)
def test_every_request_falls_back_within_the_deadline_with_the_failure_named(
    fault: FaultServer,
    classifier: Classifier,
    settings: Settings,
    mode: Mode,
    options: dict[str, Any],
    reason: str,
) -> None:
    fault.set(mode, **options)
    with service(fault, classifier, settings) as svc:
        hits = fault.hits
        answers = svc.burst()
        for classified, took in answers.classified:
            assert (classified.engine, classified.degraded, classified.degraded_reason) == (
                "embedded",
                True,
                reason,
            )
            assert classified.llm is not None
            assert classified.llm.usage.calls >= 1
            assert took < DEADLINE_S + MARGIN_S, f"classify took {took:.1f}s"
        for rewritten, took in answers.rewritten:
            assert (rewritten.engine, rewritten.degraded, rewritten.degraded_reason) == (
                "embedded",
                True,
                reason,
            )
            assert rewritten.classification.degraded_reason == reason
            assert len(rewritten.rewrites) == 2
            assert all(
                r.engine == "embedded" and r.progress_measure and r.cadence for r in rewritten.rewrites
            )
            assert took < DEADLINE_S + MARGIN_S, f"rewrite took {took:.1f}s"
        requests = len(CLASSIFY_GOALS) + len(REWRITE_GOALS)
        assert fault.hits_reaching(hits + requests) - hits >= requests, "every request reached the server"


@pytest.mark.parametrize(
    ("mode", "options"),
    [pytest.param("hang", {}, id="hang"), pytest.param("slow", {"delay_s": 30}, id="slow-past-the-deadline")],
)
def test_a_rewrite_asks_for_the_kind_and_for_rewrites_within_one_deadline(
    fault: FaultServer,
    classifier: Classifier,
    settings: Settings,
    mode: Mode,
    options: dict[str, Any],
) -> None:
    fault.set(mode, **options)
    # One attempt may take the whole deadline, so a deadline for each ask would show as twice its length.
    with service(fault, classifier, settings, llm_timeout_s=DEADLINE_S) as svc:
        for rewritten, took in svc.burst().rewritten:
            assert (rewritten.degraded_reason, rewritten.classification.degraded_reason) == (
                "llm_timeout",
                "llm_timeout",
            )
            assert rewritten.llm is not None
            assert rewritten.classification.llm is not None
            spent = (rewritten.llm.usage.latency_ms + rewritten.classification.llm.usage.latency_ms) / 1000
            assert spent < DEADLINE_S + LLM_SLACK_S, f"the LLM was given {spent:.1f}s"
            assert took < DEADLINE_S + MARGIN_S, f"rewrite took {took:.1f}s"


def test_a_retry_after_longer_than_the_deadline_is_not_waited_for(
    fault: FaultServer, classifier: Classifier, settings: Settings
) -> None:
    fault.set("429", retry_after="120")
    deadline_s = 20.0
    with service(fault, classifier, settings, llm_deadline_s=deadline_s) as svc:
        hits = fault.hits
        answers = svc.burst()
        assert all(c.degraded_reason == "llm_rate_limited" for c, _ in answers.classified)
        assert all(r.degraded_reason == "llm_rate_limited" for r, _ in answers.rewritten)
        assert fault.hits_reaching(hits + ASKS) - hits == ASKS, "one attempt per ask: no retry after it"
        # Waiting for it, or for what is left of the deadline, would take the whole deadline.
        assert answers.slowest < deadline_s / 2, f"the slowest request took {answers.slowest:.1f}s"


@pytest.mark.parametrize(
    ("mode", "options"),
    [pytest.param("ok", {}, id="ok"), pytest.param("slow", {"delay_s": 0.3}, id="slow-within-the-timeout")],
)
def test_a_working_server_decides_every_kind_and_writes_every_rewrite(
    fault: FaultServer, classifier: Classifier, settings: Settings, mode: Mode, options: dict[str, Any]
) -> None:
    fault.set(mode, **options)
    with service(fault, classifier, settings) as svc:
        answers = svc.burst()
        for classified, took in answers.classified:
            assert (classified.engine, classified.degraded) == ("llm", False)
            assert took < DEADLINE_S + MARGIN_S
        for rewritten, took in answers.rewritten:
            assert (rewritten.engine, rewritten.degraded, rewritten.classification.engine) == (
                "llm",
                False,
                "llm",
            )
            assert rewritten.rewrites[0].engine == "llm"
            assert took < DEADLINE_S + MARGIN_S
