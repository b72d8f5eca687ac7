"""A goal's subject, without its target or framing."""

from __future__ import annotations

import pytest

from service.topic import goal_topic


@pytest.mark.parametrize(
    ("goal", "topic"),
    [
        ("Close 20 deals per month", "closing deals"),
        (
            "Be better at influencing people at a more senior level",
            "influencing people at a more senior level",
        ),
        ("get my proposal approved by the steering group", "my proposal"),
        ("hit 120% of quota every quarter", "quota"),
        ("Improve CSAT to 90% by Q3", "CSAT"),
        ("I want to be a better leader", "leadership"),
        ("become a more confident public speaker this year", "public speaking"),
        ("keep p99 latency on the checkout API under 300ms every week", "p99 latency on the checkout API"),
        ("improve my presenting at conferences", "presenting at conferences"),
    ],
)
def test_topic_keeps_the_subject_and_drops_the_target(goal: str, topic: str) -> None:
    assert goal_topic(goal) == topic


def test_nothing_left_gives_an_empty_topic() -> None:
    assert goal_topic("hit 20% by Q3") == ""
