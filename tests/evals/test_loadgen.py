"""The load generators' goals are all new to the server, and their percentiles are the usual ones."""

from __future__ import annotations

from itertools import islice

from evals.loadgen import distinct_goals, percentile


def test_goals_never_repeat_so_the_cache_cannot_flatter_throughput() -> None:
    goals = list(islice(distinct_goals(), 5000))
    assert len(goals) == 5000
    assert len(set(goals)) == len(goals)


def test_goals_go_on_new_past_the_framed_variants_as_a_long_soak_needs() -> None:
    # 20 requests a second for 25 minutes, twice the framed variants.
    goals = list(islice(distinct_goals(), 30_000))
    assert len(goals) == 30_000
    assert len(set(goals)) == len(goals)


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
