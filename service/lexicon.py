"""Words that name a world: learned from the playbook's own rows, which words point to a job family
("ward", "pupils", "pick faces") or a lever ("trust", "near misses", "spend").

A short goal shares few words with any practice, and an embedding of "Falls on Ward 7 - under 4 per 1,000
bed days" is as close to a generic habit as to a ward's; one word the playbook uses only for nurses says
more. The weights come from the rows, so adding practices teaches new words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from lemminflect import getAllLemmas

# Words every kind of practice uses: they say nothing about a world.
_STOP = {
    "i", "will", "my", "each", "every", "one", "two", "three", "week", "month", "day", "time", "note", "ask",
    "write", "what", "the", "and", "to", "of", "a", "in", "for", "on", "with", "it", "that", "them", "their",
    "before", "after", "any", "who", "how", "or", "from", "at", "is", "be", "do", "more", "less", "our",
    "new", "get", "make", "want", "like", "better", "goal", "year", "quarter", "per", "by", "end", "first",
}  # fmt: skip
_WORD = re.compile(r"[a-z][a-z'-]+")
# A word counts for a label only when most of its uses are in that label's rows, in at least this many.
MIN_ROWS = 2
MIN_SHARE = 0.6


def lemmas(text: str) -> set[str]:
    """The text's content words in their dictionary form ("pupils" -> "pupil"), by a table, not suffixes."""
    found = set()
    for word in _WORD.findall(text.lower()):
        word = word.strip("'-")
        if word in _STOP or len(word) < 3:
            continue
        forms = getAllLemmas(word)
        lemma = next((forms[p][0] for p in ("NOUN", "VERB", "ADJ") if p in forms), word)
        if lemma not in _STOP:
            found.add(lemma)
    return found


class Lexicon:
    """For each word, the label whose rows use it most and that label's share of its uses."""

    def __init__(self, rows: Iterable[tuple[str, str]]) -> None:
        """`rows` pairs a text with its label (a family, a lever)."""
        uses: dict[str, Counter[str]] = {}
        for text, label in rows:
            for lemma in lemmas(text):
                uses.setdefault(lemma, Counter())[label] += 1
        self._cue: dict[str, tuple[str, float]] = {}
        for lemma, counts in uses.items():
            label, count = counts.most_common(1)[0]
            share = count / sum(counts.values())
            if count >= MIN_ROWS and share >= MIN_SHARE:
                # Rarer words say more: "telehandler" in 2 rows outweighs "shift" in 40.
                self._cue[lemma] = (label, share / math.log2(1 + count))

    def scores(self, text: str) -> dict[str, float]:
        """How strongly the text's words point to each label."""
        found: dict[str, float] = {}
        for lemma in lemmas(text):
            if lemma in self._cue:
                label, weight = self._cue[lemma]
                found[label] = found.get(label, 0.0) + weight
        return found
