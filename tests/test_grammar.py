"""The goal's verb phrase from its parse: the result without its target, or nothing when it is not clean."""

from __future__ import annotations

import pytest

from service import grammar
from service.config import Settings
from service.engine import load_engine
from service.grammar import goal_purpose


@pytest.mark.parametrize(
    ("goal", "purpose"),
    [
        (
            "2.1 Reduce scrap on the injection moulding cell from 4.2% to under 2%",
            "reduce scrap on the injection moulding cell",
        ),
        ("close 20 deals this quarter", "close deals"),
        ("I want to be trusted by the legal team", "be trusted by the legal team"),
        ("Grace to make charge nurse on nights by spring", "make charge nurse"),
        (
            "Ryan to be Gas Safe registered by the end of his apprenticeship",
            "be Gas Safe registered by the end of my apprenticeship",
        ),
        ("launch the new direct debit flow by end of Sept", "launch the new direct debit flow"),
        (
            "Improving the handover between shifts on my ward",
            "improve the handover between shifts on my ward",
        ),
        ("I'd like to feel less anxious when I'm on call", "feel less anxious when I'm on call"),
    ],
)
def test_the_purpose_is_the_goal_s_verb_phrase_without_its_target(goal: str, purpose: str) -> None:
    assert goal_purpose(goal) == purpose


@pytest.mark.parametrize(
    "goal",
    [
        "hit $3.5M this year",  # the target is the object: nothing is left
        "$3.5M net new ARR, FY26",  # a fragment with no verb
        "Bilal to keep his reopen rate below 5% each month",  # "keep my reopen rate" is cut
        "be top 3 on the leaderboard",  # a rank
        "Lost three big deals this year at the final stage to procurement",  # a story, not a wish
        "I'd like our Instagram to sound less like a bank",  # the result's subject is not the person
        "want the night staff and day staff to get on beter, handovers r tense at the moment",  # typos
        "pass CIPD level 7",  # the number is part of a name
        "Make the newsletter something subscribers look forward to",  # a trailing preposition
        "questioning needs work",  # a gerund as the subject
        "Lisa to hold a surgery every month and build better trust with tenants",  # two commitments
        "Branch NPS above 70 every month",  # a heading, not a verb
        "better work life balance in 2026",  # a comparative names a state
        "I want hiring managers at the client to actually trust my shortlists",  # their trust, not mine
        "I want to have my column 80% booked by Christmas",  # "have my column" wanted its value
        "Revit - get properly fluent",  # a fragment joined by a dash
        "",
    ],
)
def test_no_phrase_when_the_parse_gives_nothing_clean(goal: str) -> None:
    assert goal_purpose(goal) is None


def test_an_engine_is_ready_with_its_parser_loaded(settings: Settings) -> None:
    grammar._parser.cache_clear()
    grammar._lexicon.cache_clear()
    engine = load_engine(settings)
    try:
        assert grammar._parser.cache_info().currsize == 1, "the first rewrite would load spaCy"
        assert grammar._lexicon.cache_info().currsize == 1
    finally:
        engine.classifier.embedder.close()
