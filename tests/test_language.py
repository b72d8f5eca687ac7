"""Telling the language a goal is written in, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.dataset import load_goals
from service.language import ENGLISH, detect_language, language_name

# Goals by a writer who never saw the detector's settings: 60 in nine languages and four scripts, and 80
# English ones made to trip a detector (acronyms, place names, text-speak, two words).
LANGUAGES = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "evals" / "data" / "languages.jsonl").read_text().splitlines()
]


def test_every_labelled_goal_and_reference_rewrite_reads_as_english() -> None:
    texts = [text for row in load_goals() for text in (row.text, *(row.references or []))]
    assert [text for text in texts if detect_language(text) != ENGLISH] == []


def test_another_writers_goals_are_told_apart_by_language() -> None:
    wrong = [(row["text"], row["lang"], detect_language(row["text"])) for row in LANGUAGES]
    wrong = [found for found in wrong if found[1] != found[2]]
    # One English goal is all place names ("Launch in São Paulo and Ciudad de México"); nothing else misses.
    assert len(wrong) <= 1, wrong
    assert all(expected == ENGLISH for _, expected, _ in wrong)


@pytest.mark.parametrize(
    ("goal", "code"),
    [
        ("Lire un rapport sectoriel chaque semaine", "fr"),
        ("每周读一份行业报告", "zh"),
        ("Jede Woche drei Kunden anrufen", "de"),
        ("Стать лучшим руководителем", "ru"),
        ("Mejorar mis ventas este año", "es"),
    ],
)
def test_a_goal_in_another_language_gets_its_code(goal: str, code: str) -> None:
    assert detect_language(goal) == code


@pytest.mark.parametrize("goal", ["Q3 NPS 45+", "Hit quota", "KPI: OTIF 98%", "🚀", "Open the LA office"])
def test_too_little_to_tell_reads_as_english(goal: str) -> None:
    assert detect_language(goal) == ENGLISH


def test_languages_have_english_names() -> None:
    assert language_name("fr") == "French"
    assert language_name("xx") == "xx"
