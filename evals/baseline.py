"""The keyword baseline the classifier must beat: a digit means performance, a schedule word mastery."""

from __future__ import annotations

import re

from service.taxonomy import Kind

_DIGIT = re.compile(r"\d")
_SCHEDULE = re.compile(r"\b(?:every|each|daily|weekly|monthly|fortnightly|quarterly|per)\b", re.IGNORECASE)


def keyword_baseline(text: str) -> Kind:
    """A digit → performance; else a schedule word → mastery; else outcome."""
    if _DIGIT.search(text):
        return Kind.PERFORMANCE
    if _SCHEDULE.search(text):
        return Kind.MASTERY
    return Kind.OUTCOME
