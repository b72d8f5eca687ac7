"""How sure a person may take the embedded classifier to be: a word, not a percentage.

Its probabilities are calibrated on random folds of four writers' goals, and they read "100%" on goals
from other writers it gets wrong. So a person sees "likely" only from the confidence where answers were
right 19 times in 20 on a writer held out of training (`ClassifierHead.likely_from`), and "unsure" below it
or for a goal outside what the classifier can judge.
"""

from __future__ import annotations

import re

from lemminflect import getAllLemmas

from service.language import ENGLISH, language_name
from service.schemas import Certainty

# Under three words ("Hit quota", "Promotion") there is too little to tell who decides the result.
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


def _can_be_verb(word: str) -> bool:
    lemmas = getAllLemmas(word.lower())
    return "VERB" in lemmas or "AUX" in lemmas


def out_of_range(goal: str, language: str) -> str | None:
    """Why the classifier cannot judge the goal, as a clause a person reads after "unsure:"; None when it
    can."""
    if language != ENGLISH:
        return f"the goal is in {language_name(language)}; the built-in engine reads English only"
    words = _WORD.findall(goal)
    if len(words) < MIN_WORDS:
        return "the goal is very short"
    if not any(_can_be_verb(word) for word in words):
        return "the goal has no verb, so it does not say what would be done"
    return None


def judge(*, goal: str, language: str, confidence: float, likely_from: float) -> tuple[Certainty, str | None]:
    """ "likely", or "unsure" with the reason in plain words."""
    reason = out_of_range(goal, language)
    if reason is not None:
        return "unsure", reason
    if confidence < likely_from:
        return "unsure", "the built-in classifier is often wrong at this level of confidence"
    return "likely", None
