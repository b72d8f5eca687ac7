"""Cue detection finds the phrases that say who controls a goal."""

from __future__ import annotations

import pytest

from service.cues import Cue, find_cues


@pytest.mark.parametrize(
    ("text", "cue", "phrase"),
    [
        ("Close 20 deals per month", Cue.TARGET_NUMBER, "20"),
        ("Close 20 deals per month", Cue.SCHEDULE, "per month"),
        ("be the top performer on the team", Cue.COMPARISON, "top performer"),
        ("get my proposal approved", Cue.DECISION_BY_OTHERS, "approved"),
        ("read 3 books a year", Cue.LEARNING_VOLUME, "3 books"),
        ("Be a better leader", Cue.VAGUE_STATE, "be a better"),
        ("shadow a senior nurse so that I learn triage", Cue.PURPOSE_CLAUSE, "so that"),
    ],
)
def test_cue_phrases_are_found(text: str, cue: Cue, phrase: str) -> None:
    assert phrase in find_cues(text).found[cue]


def test_a_meeting_is_not_a_schedule() -> None:
    assert Cue.SCHEDULE not in find_cues("run a meeting with the team").found


def test_vector_has_one_flag_per_cue() -> None:
    vector = find_cues("hit quota every month").vector()
    assert vector.shape == (len(Cue),)
    assert set(vector.tolist()) <= {0.0, 1.0}
