"""Run metrics from rows with known predictions, checked against values computed by hand."""

from __future__ import annotations

import pytest

from evals.judge import JudgeVerdict, judge_metrics
from evals.runner import ResultRow, RewriteResult
from evals.summary import RunMetrics, gate, summarize
from service.taxonomy import Kind

O, P, M = Kind.OUTCOME, Kind.PERFORMANCE, Kind.MASTERY  # noqa: E741


def rewrite(
    control: float, rules: float, intent: float, specific: float, *, complete: bool = True
) -> RewriteResult:
    return RewriteResult(
        text="I will x",
        engine="embedded",
        controllability=control,
        rules_passed=rules,
        intent=intent,
        specificity=specific,
        overall=0.5,
        complete=complete,
    )


def rows_for(repeat: int, a_predicted: Kind) -> list[ResultRow]:
    return [
        ResultRow(
            id="a",
            repeat=repeat,
            text="a",
            family="x",
            label=O,
            predicted=a_predicted,
            confidence=0.9,
            classified_by="embedded",
            rewrites=[rewrite(0.8, 1.0, 0.6, 1.0), rewrite(0.9, 1.0, 0.5, 1.0)],
            reference_intent=0.7,
            reference_rank=1,
            diversity=0.4,
            latency_ms=10,
        ),
        ResultRow(
            id="b",
            repeat=repeat,
            text="b",
            family="x",
            label=P,
            predicted=M,
            confidence=0.6,
            classified_by="llm",
            latency_ms=30,
            prompt_tokens=100,
            completion_tokens=20,
            llm_calls=1,
        ),
        ResultRow(
            id="c",
            repeat=repeat,
            text="c",
            family="y",
            label=P,
            predicted=P,
            confidence=0.7,
            classified_by="embedded",
            degraded_reason="llm_timeout",
            rewrites=[rewrite(0.4, 0.6, 0.5, 2 / 3, complete=False)],
            reference_intent=0.3,
            reference_rank=3,
            latency_ms=20,
            prompt_tokens=50,
            completion_tokens=10,
            llm_calls=2,
        ),
        ResultRow(
            id="d",
            repeat=repeat,
            text="d",
            family="y",
            label=M,
            predicted=M,
            confidence=1.0,
            classified_by="embedded",
            latency_ms=40,
        ),
        ResultRow(
            id="e", repeat=repeat, text="e", family="y", label=O, error="LLMError: boom", latency_ms=50
        ),
    ]


@pytest.fixture(scope="module")
def metrics() -> RunMetrics:
    rows = rows_for(0, O) + rows_for(1, P)
    return summarize(rows, config={"engine": "test"}, usd_per_million=(1.0, 2.0))


def test_counts_and_classification(metrics: RunMetrics) -> None:
    assert (metrics.n, metrics.errors) == (5, 1)
    c = metrics.classification
    # truth O P P M, predicted O M P M
    assert c.confusion == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert c.accuracy == pytest.approx(0.75)
    assert c.per_kind[P].f1 == pytest.approx(2 / 3)
    assert c.per_kind[M].f1 == pytest.approx(2 / 3)
    assert c.macro_f1 == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    # confidences .9 .6 .7 1.0 with correct T F T T, one per bin: (.1 + .6 + .3 + 0) / 4
    assert c.ece == pytest.approx(0.25)
    assert (metrics.llm_share, metrics.degraded_share) == (0.25, 0.25)


def test_rewrite_metrics(metrics: RunMetrics) -> None:
    r = metrics.rewrite
    assert r.n == 3  # a, b, c: outcome and performance goals without errors
    assert r.top_is_mastery == pytest.approx(1 / 3, abs=1e-4)  # only a's top (0.8) is mastery; b has none
    assert r.controllability == pytest.approx(0.6)
    assert r.rules_passed == pytest.approx(0.8)
    assert r.intent == pytest.approx(0.55)
    assert r.reference_intent == pytest.approx(0.5)
    assert r.reference_top1 == pytest.approx(0.5)
    assert r.specificity == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert r.diversity == pytest.approx(0.4)
    assert r.schema_valid == pytest.approx(0.5)


def test_cost_latency_and_flakiness(metrics: RunMetrics) -> None:
    cost = metrics.cost
    assert (cost.llm_calls, cost.prompt_tokens, cost.completion_tokens) == (6, 300, 60)
    assert cost.estimated_usd == pytest.approx(round((300 * 1.0 + 60 * 2.0) / 1e6, 4))
    assert (cost.latency_p50_ms, cost.latency_p95_ms) == (30, 50)
    assert metrics.flaky_share == pytest.approx(0.2)  # a changed between repeats, 1 of 5


def test_gate_names_the_metric_and_the_shortfall(metrics: RunMetrics) -> None:
    failures = gate(metrics, {"classification.macro_f1": 0.8, "rewrite.top_is_mastery": 0.3})
    assert failures == ["classification.macro_f1 is 0.7778, under its threshold 0.8000, short by 0.0222"]
    with pytest.raises(KeyError, match="no metric"):
        gate(metrics, {"classification.nonsense": 1.0})


def test_judge_metrics_by_hand() -> None:
    def verdict(kind: Kind, score: int, controllable: bool) -> JudgeVerdict:
        return JudgeVerdict(
            goal_kind=kind,
            rewrite_controllable=controllable,
            rewrite_specific=True,
            rewrite_serves_goal=controllable,
            rewrite_restates_target=False,
            score=score,
        )  # type: ignore[arg-type]

    judged = judge_metrics(
        [O, P, M, P], [verdict(O, 5, True), verdict(O, 3, False), verdict(M, 4, True), None]
    )
    assert judged is not None
    assert (judged.n, judged.errors) == (3, 1)
    assert judged.agreement_with_labels == pytest.approx(2 / 3, abs=1e-4)  # O=O, P!=O, M=M
    assert judged.mean_score == pytest.approx(4.0)
    assert (judged.controllable, judged.specific, judged.restates_target) == (
        pytest.approx(2 / 3, abs=1e-4),
        1.0,
        0.0,
    )
