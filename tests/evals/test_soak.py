"""The soak run's memory verdict: a steady rise after warm-up is flagged; a flat one, or warm-up, is not."""

from __future__ import annotations

import pytest

from evals.soak import GROWTH_MIB_PER_MIN, growth_verdict, slope_per_minute


def test_slope_is_in_mib_per_minute() -> None:
    assert slope_per_minute([(0.0, 100.0), (60.0, 103.0), (120.0, 106.0)]) == pytest.approx(3.0)


def test_a_rise_only_during_the_first_window_is_warm_up_not_growth() -> None:
    slope, verdict = growth_verdict([(0.0, 500.0), (60.0, 560.0), (120.0, 560.5), (180.0, 560.0)])
    assert slope < GROWTH_MIB_PER_MIN
    assert verdict.startswith("no growth trend")


def test_a_steady_rise_over_a_long_run_is_growth() -> None:
    points = [(0.0, 500.0)] + [(60.0 * minute, 505.0 + 5 * minute) for minute in range(1, 9)]
    slope, verdict = growth_verdict(points)
    assert slope == pytest.approx(5.0)
    assert verdict.startswith("GROWING")


def test_a_rise_in_a_short_run_may_still_be_warm_up() -> None:
    slope, verdict = growth_verdict([(0.0, 500.0), (60.0, 510.0), (120.0, 515.0), (180.0, 520.0)])
    assert slope == pytest.approx(5.0)
    assert verdict.startswith("rising")


def test_fewer_than_three_windows_are_too_short_to_judge() -> None:
    _, verdict = growth_verdict([(0.0, 500.0), (60.0, 600.0), (120.0, 700.0)])
    assert verdict.startswith("too short")
