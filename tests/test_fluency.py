"""The slot-grammar checker on sentences known to read well and on the faults that pasting produces."""

from __future__ import annotations

import pytest

from service.fluency import fluency_faults


@pytest.mark.parametrize(
    "text",
    [
        "Every Friday, I will review one lost deal and write down what I would try next time.",
        "Each week, I will call three lapsed subscribers and note why they left, "
        "to win back lapsed subscribers.",
        "Before every shift, I will check the falls risk assessment of each patient in my bay.",
        "Once a month, I will ask the legal team for 20 minutes of feedback on my last contract request.",
        "For each new customer, I will book a check-in call after go-live "
        "and ask who they were passed to and why.",
    ],
)
def test_good_sentences_have_no_fault(text: str) -> None:
    assert fluency_faults(text, "Win back 500 lapsed subscribers by Q3") == []


@pytest.mark.parametrize(
    ("text", "goal", "fault"),
    [
        (
            "I will read one local guideline on become a charge nurse and summarise it.",
            "become a charge nurse",
            "verb_in_noun_slot",
        ),
        (
            "Each week, I will test messaging on becoming the top-rated shop in our "
            "and write down what works.",
            "top-rated shop",
            "cut_phrase",
        ),
        ("Each week, I will review my pipeline to reach 5M.", "$3.5M net new ARR", "target_figure"),
        ("Each week, I will close 20 deals.", "close 20 deals", "target_figure"),
        ("Each week, I will review my pipeline against the $2M plan.", "grow the pipeline", "target_figure"),
        ("Each week, I will read one guideline on {topic}.", "anything", "placeholder"),
        ("Each week, I will will call one customer.", "anything", "doubled_word"),
        ("each week I will call one customer", "anything", "not_a_sentence"),
        ("Each week, I will review my notes on the.", "anything", "cut_phrase"),
    ],
)
def test_pasting_faults_are_found(text: str, goal: str, fault: str) -> None:
    assert fault in fluency_faults(text, goal)
