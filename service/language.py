"""Whether a goal reads as English, the one language the embedded classifier was trained on."""

from __future__ import annotations

import re
import unicodedata


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words of English goals and of goals in the languages employees most often write in instead (Spanish,
# French, German, Italian, Portuguese, Dutch, Swedish). Words both sides use ("a", "in", "no", "per", "van",
# "met", "min", "plus") are in neither list, and so are single letters ("e-learning" must not read as
# Portuguese "e").
_ENGLISH = _words(
    """the and or but to of at by for with from into about my our your their his her its we you they he she
    it this that these those are be been being would should can could must have has does more less each every
    all some any not than then if when before after during until over under up out new better get make
    improve increase reduce become learn team month week year quarter customers sales time how what who which
    through across least"""
)
_OTHER = _words(
    """el la los las un una unos del en para por con mi mis su sus que es al cada mes año semana mejorar ser
    lo más como este esta nuestro nuestra le les une des du et pour par avec mon ma ses notre nos votre est
    être chaque mois année plus dans sur au aux ce cette je améliorer devenir meilleur meilleure der das den
    dem ein eine einen und ich mein meine meinen unser unsere mit für zu im jede jeden jedes woche monat jahr
    mehr besser bessere werden ist auf von nicht kunden il gli di mio mia miei mie nostro ogni mese anno
    settimana più migliorare essere che nel della um uma da dos das em na com meu minha meus mês ano mais
    melhorar het een voor mijn ons onze elke maand jaar meer beter worden ik och ett att för mitt mina varje
    bli bättre jag är"""
)
# Words, keeping hyphenated and apostrophised ones whole ("de-escalate", "don't").
_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")


def looks_english(text: str) -> bool:
    """False when most letters are not Latin, or when at least two common words of another language
    outnumber the English ones; a goal with too little to go on counts as English."""
    letters = [char for char in text if char.isalpha()]
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    if latin * 2 < len(letters):
        return False
    words = [word for word in _WORD.findall(text.lower()) if len(word) > 1]
    other = sum(word in _OTHER for word in words)
    return other < 2 or other <= sum(word in _ENGLISH for word in words)
