"""The project's labelled goal set, read from `evals/data/goals.jsonl`."""

from __future__ import annotations

from pathlib import Path

from service.labelled import LabelledGoal, read_goals

GOALS_PATH = Path(__file__).resolve().parent / "data" / "goals.jsonl"


def load_goals(path: Path = GOALS_PATH) -> list[LabelledGoal]:
    """The labelled set (or another file of the same shape), naming the first bad line if there is one."""
    return read_goals(path)
