"""Metrics agree with hand-computed values."""

from __future__ import annotations

import pytest

from evals.baseline import keyword_baseline
from evals.kind_metrics import (
    classification_metrics,
    counted_either_way,
    expected_calibration_error,
    format_confusion,
)
from service.taxonomy import Kind

OUT, PERF, MAST = Kind.OUTCOME, Kind.PERFORMANCE, Kind.MASTERY


def test_perfect_predictions_score_one() -> None:
    metrics = classification_metrics([OUT, PERF, MAST], [OUT, PERF, MAST])
    assert metrics.accuracy == 1
    assert metrics.macro_f1 == 1
    assert metrics.confusion == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_hand_computed_case() -> None:
    # truth O O P M, predicted O P P P: O p=1 r=.5 f=.667; P p=1/3 r=1 f=.5; M p=0 r=0 f=0
    metrics = classification_metrics([OUT, OUT, PERF, MAST], [OUT, PERF, PERF, PERF])
    assert metrics.accuracy == pytest.approx(0.5)
    assert metrics.per_kind[OUT].f1 == pytest.approx(2 / 3)
    assert metrics.per_kind[PERF].f1 == pytest.approx(0.5)
    assert metrics.per_kind[MAST].f1 == 0
    assert metrics.macro_f1 == pytest.approx((2 / 3 + 0.5) / 3)
    assert metrics.confusion == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert "true \\ predicted" in format_confusion(metrics.confusion)


def test_calibration_error_is_the_gap_between_confidence_and_accuracy() -> None:
    assert expected_calibration_error([0.9, 0.9], [True, True]) == pytest.approx(0.1)
    assert expected_calibration_error([0.95, 0.95], [True, False]) == pytest.approx(0.45)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="same length"):
        classification_metrics([OUT], [])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("close 20 deals", PERF),
        ("call clients every week", MAST),
        ("be a better leader", OUT),
        ("read 2 books weekly", PERF),
    ],
)
def test_keyword_baseline_rules(text: str, kind: Kind) -> None:
    assert keyword_baseline(text) is kind


def test_a_contested_row_counts_right_as_outcome_or_performance_but_not_as_mastery() -> None:
    truth = [Kind.PERFORMANCE, Kind.PERFORMANCE, Kind.PERFORMANCE, Kind.MASTERY]
    predicted = [Kind.OUTCOME, Kind.MASTERY, Kind.OUTCOME, Kind.OUTCOME]
    contested = [True, True, False, True]
    assert counted_either_way(truth, predicted, contested) == [
        Kind.PERFORMANCE,
        Kind.MASTERY,
        Kind.OUTCOME,
        Kind.OUTCOME,
    ]
    metrics = classification_metrics(truth, predicted, contested=contested)
    assert metrics.macro_f1_contested_either_way is not None
    assert metrics.macro_f1_contested_either_way > metrics.macro_f1
