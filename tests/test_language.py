"""Telling English goals from goals in other languages, without a language model."""

from __future__ import annotations

import pytest

from evals.dataset import load_goals
from service.language import looks_english

OTHER_LANGUAGES = [
    "Mejorar mis ventas este año",
    "Cerrar 20 ventas al mes",
    "Leer un libro cada semana",
    "Obtenir une promotion cette année",
    "Devenir un meilleur manager",
    "Ich möchte eine bessere Führungskraft werden",
    "Jede Woche drei Kunden anrufen",
    "Migliorare le mie capacità di leadership",
    "Ler um livro por semana",
    "Elke maand meer klanten voor mijn team",
    "bli en bättre ledare",
    "每月完成20笔交易",
    "毎週本を一冊読む",
    "أريد أن أصبح قائداً أفضل",
    "Стать лучшим руководителем",
    "Продавать на 20% больше",
]


def test_every_labelled_goal_and_reference_rewrite_reads_as_english() -> None:
    texts = [text for row in load_goals() for text in (row.text, *(row.references or []))]
    assert [text for text in texts if not looks_english(text)] == []


@pytest.mark.parametrize("goal", OTHER_LANGUAGES)
def test_goals_in_other_languages_are_told_apart(goal: str) -> None:
    assert not looks_english(goal)


@pytest.mark.parametrize(
    "goal",
    [
        "De-escalate 5 complaints a week",
        "Complete 3 e-learning modules",
        "Open the LA office",
        "Q3 NPS 45+",
        "🚀",
    ],
)
def test_english_with_foreign_looking_pieces_or_no_words_reads_as_english(goal: str) -> None:
    assert looks_english(goal)
