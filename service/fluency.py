"""The slot-grammar checker: faults a reader trips on in a rewrite, found with the same parser that builds
the rewrite's purpose clause. Both engines' rewrites are checked, and `rewrite.fluency` counts them.

It looks for what pasting goal text into sentences produces: a placeholder left in, a verb phrase where
a noun phrase belongs ("a guideline on become a nurse"), a phrase cut off ("in our and"), a word said
twice, and any number or money figure from the goal (a target restated, or "$3.5M" cut to "5M").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from service.grammar import parse

if TYPE_CHECKING:
    from spacy.tokens import Token

# A figure: digits, possibly with a currency, a decimal point, a unit letter or a percent.
_FIGURE = re.compile(r"[$£€]?\d[\d.,]*(?:[kKmMbB]n?|%)?")
_CURRENCY = re.compile(r"[$£€%]")
# Words that cannot end a phrase: an article or a possessive always wants its noun ("in our and").
_ARTICLES = {"a", "an", "the", "every", "no"}


def fluency_faults(text: str, goal: str) -> list[str]:
    """The faults in `text`, a rewrite of `goal`: empty when it reads as a person wrote it."""
    faults: list[str] = []
    stripped = text.strip()
    if not stripped[:1].isupper() or stripped[-1:] not in {".", "?", "!"}:
        faults.append("not_a_sentence")
    if re.search(r"[{}]", stripped):
        faults.append("placeholder")
    if re.search(r"\b(\w+)\s+\1\b", stripped, flags=re.IGNORECASE):
        faults.append("doubled_word")
    if _figures(goal) & _figures(stripped):
        faults.append("target_figure")
    if _CURRENCY.search(stripped):
        faults.append("target_figure")
    doc = parse(stripped)
    for token in doc[:-1]:
        after = token.nbor(1)
        # "after go-live" is a compound noun: a verb joined by a hyphen is part of a word.
        compound = after.i + 1 < len(doc) and after.nbor(1).text == "-" and not after.whitespace_
        if token.tag_ == "IN" and after.tag_ == "VB" and token.lower_ != "to" and not compound:
            faults.append("verb_in_noun_slot")  # "a guideline on become a nurse"
        if _needs_a_noun(token) and (after.is_punct or after.tag_ == "CC") and after.text not in {"'", "-"}:
            faults.append("cut_phrase")  # "on becoming the top shop in our and"
    if len(doc) > 1 and doc[-1].is_punct and (_needs_a_noun(doc[-2]) or doc[-2].tag_ == "CC"):
        faults.append("cut_phrase")
    return sorted(set(faults))


def _figures(text: str) -> set[str]:
    """Every figure in the text and each of its parts, so a figure cut short ("5M" of "$3.5M") is found."""
    found: set[str] = set()
    for match in _FIGURE.findall(text):
        figure = match.strip(".,")
        found.add(figure.lower())
        found.update(part.lower() for part in re.split(r"[.,$£€]", figure) if part and part[0].isdigit())
    return found


def _needs_a_noun(token: Token) -> bool:
    return token.tag_ == "PRP$" or (token.tag_ == "DT" and token.lower_ in _ARTICLES)
