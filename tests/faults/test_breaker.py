"""The circuit breaker against a failing server process: it opens, skips the server, and closes again.

The breaker reads a clock the test moves, so the cool-down passes without waiting for it.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.classifier import Classifier
from service.config import Settings
from service.llm.breaker import BreakerState
from tests.fault_server import FaultServer, Mode
from tests.faults.conftest import CLASSIFY_GOALS, DEADLINE_S, FAULT_CASES, MARGIN_S, REWRITE_GOALS, service

FAILURES = 3
COOLDOWN_S = 30.0
# One HTTP attempt per ask, so each failed ask is one hit on the server and one failure for the breaker;
# with no retry to make up for a slow moment of a loaded machine, that attempt gets more time.
BREAKER = {
    "llm_breaker_failures": FAILURES,
    "llm_breaker_cooldown_s": COOLDOWN_S,
    "llm_max_attempts": 1,
    "llm_timeout_s": 2.0,
}

# The failures of the transport (not answers that fail validation), which are what open the breaker.
TRANSPORT_FAILURES: list[Any] = [
    case
    for case in FAULT_CASES
    if case.id in {"hang", "429", "500", "close-mid-body", "garbage-not-json", "slow-past-the-timeout"}
]


@pytest.mark.parametrize(("mode", "options", "reason"), TRANSPORT_FAILURES)
def test_breaker_opens_after_the_failures_skips_the_server_then_a_success_closes_it(
    fault: FaultServer,
    classifier: Classifier,
    settings: Settings,
    mode: Mode,
    options: dict[str, Any],
    reason: str,
) -> None:
    fault.set(mode, **options)
    with service(fault, classifier, settings, **BREAKER) as svc:
        hits = fault.hits
        for goal in CLASSIFY_GOALS[:FAILURES]:
            failed, _ = svc.classify(goal)
            assert (failed.degraded, failed.degraded_reason) == (True, reason)
        assert fault.hits_reaching(hits + FAILURES) - hits == FAILURES
        assert svc.breaker_state() is BreakerState.OPEN

        skipped = svc.burst()
        assert fault.hits - hits == FAILURES, "an open breaker sends nothing to the server"
        for classified, took in skipped.classified:
            assert (classified.engine, classified.degraded_reason) == ("embedded", "llm_circuit_open")
            assert classified.llm is not None
            assert classified.llm.usage.calls == 0
            assert took < DEADLINE_S, f"a skipped request took {took:.1f}s"
        for rewritten, took in skipped.rewritten:
            assert (rewritten.engine, rewritten.degraded_reason) == ("embedded", "llm_circuit_open")
            assert rewritten.rewrites, "the playbook answers"
            assert took < DEADLINE_S, f"a skipped request took {took:.1f}s"

        fault.set("ok")
        svc.clock.now += COOLDOWN_S
        trial, _ = svc.classify(CLASSIFY_GOALS[0])
        assert (trial.engine, trial.degraded) == ("llm", False)
        assert svc.breaker_state() is BreakerState.CLOSED
        assert fault.hits - hits == FAILURES + 1

        healed = svc.burst()
        assert all(c.engine == "llm" and not c.degraded for c, _ in healed.classified)
        assert all(r.engine == "llm" and not r.degraded for r, _ in healed.rewritten)


def test_a_failed_trial_after_the_cooldown_costs_one_call_and_opens_it_again(
    fault: FaultServer, classifier: Classifier, settings: Settings
) -> None:
    fault.set("500")
    with service(fault, classifier, settings, **BREAKER) as svc:
        for goal in CLASSIFY_GOALS[:FAILURES]:
            svc.classify(goal)
        assert svc.breaker_state() is BreakerState.OPEN
        hits = fault.hits

        svc.clock.now += COOLDOWN_S
        answers = svc.burst()
        assert fault.hits - hits == 1, "one trial call while half-open, however many requests arrive"
        # The trial may be a rewrite's first ask, the kind's, so its classification names the failure.
        kinds = [c for c, _ in answers.classified] + [r.classification for r, _ in answers.rewritten]
        reasons = [k.degraded_reason for k in kinds]
        assert reasons.count("llm_server_error") == 1
        assert reasons.count("llm_circuit_open") == len(CLASSIFY_GOALS) + len(REWRITE_GOALS) - 1
        assert svc.breaker_state() is BreakerState.OPEN
        assert answers.slowest < DEADLINE_S + MARGIN_S


def test_answers_that_fail_validation_do_not_open_the_breaker(
    fault: FaultServer, classifier: Classifier, settings: Settings
) -> None:
    fault.set("garbage", garbage="wrong_schema")
    with service(fault, classifier, settings, **BREAKER, llm_max_reasks=0) as svc:
        hits = fault.hits
        for goal in CLASSIFY_GOALS:
            answer, _ = svc.classify(goal)
            assert answer.degraded_reason == "llm_output_invalid"
        assert fault.hits - hits == len(CLASSIFY_GOALS), "the server answers, so it is never skipped"
        assert svc.breaker_state() is BreakerState.CLOSED
