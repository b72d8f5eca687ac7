"""The language a goal is written in: langid.py's naive Bayes model of byte n-grams (py3langid), offline.

Only English goals reach the embedded engine's templates; a goal in another language gets an answer that
says so instead of English sentences with its words pasted in.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

ENGLISH = "en"
# The languages employees write goals in, by ISO 639-1 code. Narrowing the model to these keeps a terse
# English goal ("Hit quota", "KPI: OTIF 98%") from reading as Latin, Igbo or Bosnian.
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "pl": "Polish",
    "cs": "Czech", "ro": "Romanian", "hu": "Hungarian", "tr": "Turkish", "ru": "Russian",
    "uk": "Ukrainian", "el": "Greek", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "zh": "Chinese",
    "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese", "id": "Indonesian", "th": "Thai",
}  # fmt: skip
# How sure the model must be that a goal is not English before the engine treats it as another language.
# On the labelled goals and 80 terse English ones by another writer (acronyms, place names, text-speak),
# 0.95 flagged one English goal and 0.98 missed "Umsatz +10%" (docs/integrating.md has the figures).
NOT_ENGLISH_CERTAINTY = 0.97


@cache
def _identifier() -> LanguageIdentifier:
    # Built from the languages' own columns rather than narrowed with `set_languages`, which keeps all 97
    # languages' table beside them: 58 MiB resident instead of 76 (the byte automaton is 37 of them).
    by_term, prior, classes, automaton, rows, outputs = load_model(MODEL_DIR / MODEL_FILE)
    kept = [i for i, code in enumerate(classes) if code in LANGUAGE_NAMES]
    return LanguageIdentifier(
        np.ascontiguousarray(by_term[:, kept]),
        prior[kept],
        [classes[i] for i in kept],
        automaton,
        outputs,
        norm_probs=True,
        tk_row=rows,
    )


def load() -> None:
    """Load the model now (0.1 s), so a replica's first goal does not wait for it."""
    _identifier()


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the goal's language; English unless the model is all but sure it is not, so a
    goal with too little text to tell ("Q3 NPS 45+", "🚀") reads as English."""
    ranked: list[tuple[str, float]] = _identifier().rank(text)
    english = dict(ranked).get(ENGLISH, 0.0)
    if 1.0 - english < NOT_ENGLISH_CERTAINTY:
        return ENGLISH
    return ranked[0][0]


def language_name(code: str) -> str:
    """The language's English name, e.g. "French" for "fr"."""
    return LANGUAGE_NAMES.get(code, code)
