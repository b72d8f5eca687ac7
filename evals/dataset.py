"""The project's labelled goal set, read from `evals/data/goals.jsonl`."""

from __future__ import annotations

from pathlib import Path

from service.labelled import LabelledGoal, Split, in_split, read_goals
from service.taxonomy import KINDS

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
        "facilities",
        "fitness",
        "hospitality",
        "personal_finance",
        "retail",
        "veterinary",
        "wellbeing_at_work",
    ),
    "F": ("construction", "kitchen", "logistics", "police", "public_sector", "study_certification", "trades"),
    "G": (
        "banking_branch",
        "call_centre",
        "it_support",
        "legal",
        "manufacturing",
        "pharmacy",
        "school_admin",
        "social_care",
    ),
}


def load_goals(path: Path = GOALS_PATH) -> list[LabelledGoal]:
    """The labelled set (or another file of the same shape), naming the first bad line if there is one."""
    return read_goals(path)


def source_examples() -> list[LabelledGoal]:
    """The source articles' own examples of each kind (`service/taxonomy.py`), labelled by their authors."""
    return [
        LabelledGoal(id=f"source-{kind.value}-{n}", family="source", text=text, label=kind)
        for kind, info in KINDS.items()
        for n, text in enumerate(info.examples, start=1)
    ]


def training_rows(rows: list[LabelledGoal]) -> list[LabelledGoal]:
    """What `make train` fits the head on: the train split, and the source articles' examples, whose
    labels define the kinds (the page shows them), so the head answers them as their authors did."""
    return [*in_split(rows, Split.TRAIN), *source_examples()]
