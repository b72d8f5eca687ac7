"""Scores for a candidate rewrite — controllability, intent preservation, specificity, fluency — and the
ranking.

The API ranks candidates with these scores and the eval suite reports them: one copy of the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.classifier import Classifier
from service.cues import Cue, find_cues
from service.fluency import fluency_faults
from service.schemas import Scores
from service.taxonomy import Kind

# Weights of the overall score: a rewrite must first be controllable, then about the same thing.
WEIGHTS = {"controllability": 0.4, "intent": 0.35, "specificity": 0.25}


def rule_failures(text: str) -> list[str]:
    """Controllability by rules, without the classifier: what in the text others would control."""
    cues = find_cues(text)
    lowered = f" {text.lower()} "
    failures = []
    if not any(token in lowered for token in (" i ", " i'll ", " my ", " me ")):
        failures.append("first_person")
    if not cues.found.get(Cue.OWN_PRACTICE) and " i will " not in lowered:
        failures.append("own_action")
    if (
        cues.found.get(Cue.RESULT_METRIC)
        and cues.found.get(Cue.TARGET_NUMBER)
        and not cues.found.get(Cue.LEARNING_VOLUME)
    ):
        failures.append("no_result_target")
    if cues.found.get(Cue.COMPARISON):
        failures.append("no_comparison")
    if cues.found.get(Cue.DECISION_BY_OTHERS):
        failures.append("no_decision_by_others")
    return failures


RULES = ("first_person", "own_action", "no_result_target", "no_comparison", "no_decision_by_others")


def specificity(text: str) -> float:
    """An action, an object (enough words to name one), and a cadence or a count: a third each."""
    cues = find_cues(text)
    action = bool(cues.found.get(Cue.OWN_PRACTICE)) or " i will " in f" {text.lower()} "
    obj = len(text.split()) >= 8
    rhythm = bool(cues.found.get(Cue.SCHEDULE) or cues.found.get(Cue.TARGET_NUMBER))
    return round((action + obj + rhythm) / 3, 4)


def score_rewrites(
    *,
    goal: str,
    rewrites: Sequence[str],
    classifier: Classifier,
    commitments: Sequence[str] | None = None,
) -> list[Scores]:
    """Score candidates against their goal, embedding everything in one pass.

    `commitments`, when given, are what each rewrite commits to without the purpose clause the embedded
    engine appends (", to be more confident."): controllability is judged on the commitment, since the
    clause states on purpose the result the commitment serves, which is not for the person to control.
    """
    if not rewrites:
        return []
    judged = list(commitments or rewrites)
    vectors = classifier.embedder.embed_batch([goal, *rewrites, *judged])
    intents = vectors[1 : len(rewrites) + 1] @ vectors[0]
    answers = classifier.classify_batch(judged, vectors=vectors[len(rewrites) + 1 :])
    scores = []
    for text, commitment, intent, answer in zip(rewrites, judged, intents, answers, strict=True):
        failed = rule_failures(commitment)
        control = answer.probabilities.of(Kind.MASTERY)
        intent_score = float(np.clip(intent, 0.0, 1.0))
        specific = specificity(commitment)
        overall = (
            WEIGHTS["controllability"] * control
            + WEIGHTS["intent"] * intent_score
            + WEIGHTS["specificity"] * specific
        )
        scores.append(
            Scores(
                controllability=round(control, 4),
                rules_passed=round(1 - len(failed) / len(RULES), 4),
                failed_rules=failed,
                intent=round(intent_score, 4),
                specificity=specific,
                overall=round(overall, 4),
                fluency_faults=fluency_faults(text, goal),
            )
        )
    return scores


def lever_agreement(rewrite: set[str], references: Sequence[set[str]]) -> float:
    """Relevance: 1 when a rewrite moves a lever one of the goal's reference rewrites moves, else 0. Unlike
    similarity to the goal's wording, copying the goal's words into a rewrite does not raise it."""
    return float(any(rewrite & reference for reference in references))
