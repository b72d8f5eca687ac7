"""The project's labelled goal set, read from `evals/data/goals.jsonl`."""

from __future__ import annotations

from pathlib import Path

from service.labelled import LabelledGoal, read_goals

GOALS_PATH = Path(__file__).resolve().parent / "data" / "goals.jsonl"
# Each group's families were written by a different author; holding a group out tests the head on
# goals written in a voice it never saw.
WRITER_GROUPS: dict[str, tuple[str, ...]] = {
    "A": ("sales", "customer_service", "marketing"),
    "B": ("engineering", "design", "research"),
    "C": ("nursing_care", "teaching", "hr"),
    "D": ("people_management", "finance", "operations", "personal_development"),
    "E": (
        "creative_work",
        "facilities_cleaning",
        "fitness",
        "hospitality",
        "personal_finance",
        "retail_store",
        "veterinary",
        "wellbeing_at_work",
    ),
    "F": (
        "chef_kitchen",
        "civil_service",
        "construction_site",
        "electrician_plumbing",
        "hgv_logistics_driving",
        "local_council",
        "police",
        "study_certification",
    ),
    "G": (
        "banking_branch",
        "call_centre",
        "it_support",
        "legal",
        "manufacturing_line",
        "pharmacy",
        "school_admin",
        "social_care",
    ),
}


def load_goals(path: Path = GOALS_PATH) -> list[LabelledGoal]:
    """The labelled set (or another file of the same shape), naming the first bad line if there is one."""
    return read_goals(path)
