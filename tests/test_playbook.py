"""The playbook as data: every row well formed and a complete sentence, with the breadth goal sheets have."""

from __future__ import annotations

import json
from collections import Counter

from evals.dataset import load_goals
from service.fluency import fluency_faults
from service.grammar import goal_purpose
from service.labelled import Split, in_split
from service.playbook import GENERIC, PLAYBOOK_PATH, PlaybookEntry, adapt

ROWS = [json.loads(line) for line in PLAYBOOK_PATH.read_text(encoding="utf-8").splitlines() if line]
ENTRIES = [PlaybookEntry.model_validate(row) for row in ROWS]
CROSS_CUTTING = ("relationships", "visibility", "career", "cost", "quality", "wellbeing", "learning")


def test_every_row_is_well_formed_and_unique() -> None:
    assert len(ENTRIES) >= 800
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)
    assert len({e.practice.lower() for e in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry.progress_measure.strip(), entry.id
        assert entry.keywords, entry.id


def test_every_family_of_the_labelled_set_and_each_cross_cutting_lever_is_covered() -> None:
    families = Counter(e.family for e in ENTRIES)
    for family in {row.family for row in load_goals()}:
        assert families[family] >= 20, family
    generic_levers = Counter(lever for e in ENTRIES if e.family == GENERIC for lever in e.levers)
    for lever in CROSS_CUTTING:
        assert generic_levers[lever] >= 10, lever


def test_every_practice_reads_as_a_sentence_on_its_own() -> None:
    faulty = {e.id: fluency_faults(e.practice, "") for e in ENTRIES}
    assert {k: v for k, v in faulty.items() if v} == {}


def test_every_row_filled_with_the_test_goals_purposes_passes_the_checker() -> None:
    # Every row gets one of the test split's purpose clauses in turn, so each clause is tried on many rows
    # and each row with one clause (all pairs would take minutes of parsing).
    goals = [row.text for row in in_split(load_goals(), Split.TEST)]
    purposes = [(goal, p) for goal in goals if (p := goal_purpose(goal))]
    assert len(purposes) >= 10
    faulty = {}
    for n, entry in enumerate(ENTRIES):
        goal, purpose = purposes[n % len(purposes)]
        text = adapt(entry, goal=goal, purpose=purpose).text
        if faults := [f for f in fluency_faults(text, goal) if f != "target_figure"]:
            faulty[entry.id] = (text, faults)
    assert faulty == {}
