"""The subject of a goal, stripped of its target and framing, so a practice can be written for it."""

from __future__ import annotations

import re

_LEAD_INS = re.compile(
    r"^(?:(?:this|next) (?:year|quarter),?\s+|goal:\s*|objective:\s*|[-*•]\s*|\d+[.)]\s*|"
    r"(?:i|we)\s+(?:really\s+)?(?:want|need|would like|'d like|hope|plan|aim|intend|am going|'m going|"
    r"am hoping|'m hoping)\s+to\s+|(?:i|we)\s*(?:will|'ll|shall|must|should)\s+|my goal is to\s+|"
    r"(?:want|need|hoping|aim|plan|try)\s+to\s+|to\s+|[A-Z][a-z]+\s+(?:will|wants to|needs to|should)\s+)",
    re.IGNORECASE,
)
_STATE = re.compile(
    r"^(?:(?:be|become|get|grow|feel|seem)\s+(?:seen as\s+|known as\s+)?(?:a\s+|an\s+|the\s+)?"
    r"(?:much\s+|lot\s+|bit\s+)?(?:better|stronger|more confident|more|great|good|best|top|go-to)?\s*"
    r"(?:at|in|with|on|about|as)?\s+|"
    r"(?:improve|enhance|strengthen|develop|boost|increase|grow|raise|reduce|cut|lower|decrease|"
    r"hit|reach|achieve|exceed|maintain|keep|deliver|get)\s+(?:a|an)?\s*|"
    r"(?:have|build|create|foster|make|form)\s+(?:much\s+)?(?:better|stronger|good|great|more|closer)\s+|"
    r"(?:person|one|expert|champion|resource)\s+(?:for|on|in)\s+)",
    re.IGNORECASE,
)
_TARGETS = re.compile(
    r"(?:\b(?:by|to|under|over|above|below|at least|at most|within|of|from|than)\s+)?"
    r"(?<!\w)(?:[$£€]\s?)?\d[\d,.]*(?:\s*(?:%|percent)|\s*(?:k|x|ms|s|hrs?|hours?|days?|weeks?|months?)\b)?(?!\w)|"
    r"\b(?:or (?:higher|more|better|above|less|lower)|to (?:zero|none))\b|"
    r"\b(?:per|a|each|every|this|next|by|before|in|within|end of|by the end of)\s+"
    r"(?:day|week|month|quarter|year|sprint|term|cycle|season|round|period|q[1-4]|fy\d*|half|"
    r"january|february|march|april|may|june|"
    r"july|august|september|october|november|december)\b|"
    r"\b(?:approved|signed off|agreed|accepted|promoted|selected|chosen)\b|\b(?:top|number one|#1|best)\b",
    re.IGNORECASE,
)
_EDGE_WORDS = {
    "of",
    "to",
    "by",
    "in",
    "on",
    "at",
    "for",
    "and",
    "or",
    "the",
    "a",
    "an",
    "with",
    "than",
    "from",
    "be",
}
_DOUBLING = {"get", "hit", "win", "run", "cut", "plan", "stop", "set", "put", "ship", "chat"}
_VERBS = {
    "close",
    "hit",
    "win",
    "sell",
    "get",
    "make",
    "deliver",
    "run",
    "lead",
    "manage",
    "build",
    "write",
    "present",
    "grow",
    "launch",
    "ship",
    "publish",
    "cut",
    "reduce",
    "increase",
    "improve",
    "handle",
    "answer",
    "resolve",
    "train",
    "teach",
    "coach",
    "hire",
    "recruit",
    "plan",
    "design",
    "fix",
    "reach",
    "book",
    "secure",
    "speak",
    "communicate",
    "influence",
    "negotiate",
    "prioritise",
    "prioritize",
    "delegate",
    "mentor",
    "finish",
    "complete",
    "convert",
    "retain",
    "support",
    "document",
    "test",
    "review",
    "analyse",
    "analyze",
    "forecast",
    "report",
    "pitch",
    "onboard",
    "grade",
    "mark",
    "care",
    "treat",
    "lower",
    "raise",
    "keep",
    "stay",
}


# "be a better leader" is about leadership: a role noun at the end names the skill.
_ROLE_SKILLS = {
    "leader": "leadership",
    "manager": "management",
    "speaker": "speaking",
    "writer": "writing",
    "coach": "coaching",
    "communicator": "communication",
    "presenter": "presenting",
    "listener": "listening",
    "negotiator": "negotiation",
    "seller": "selling",
    "teacher": "teaching",
    "mentor": "mentoring",
    "planner": "planning",
    "designer": "design",
    "engineer": "engineering",
    "analyst": "analysis",
    "researcher": "research",
    "nurse": "nursing",
    "recruiter": "recruiting",
    "facilitator": "facilitation",
}
# A lone adjective ("be more strategic") is no subject to practise on: callers fall back to the skill.
_ADJECTIVE = re.compile(r"(?:ic|ive|ful|ent|ant|al|ous|ble|ed|ly)$")
_CLAUSE_CUT = re.compile(
    r"\s+(?:to (?:be|come|get|have|hit|reach|make|win|see)\b|"
    r"by (?:the|my|our|a)\s+\w+(?:\s+\w+)?\s*$|so that\b|because\b|which\b|when\b)",
    re.IGNORECASE,
)


def _gerund(verb: str) -> str:
    if verb in _DOUBLING:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def goal_topic(goal: str, *, max_words: int = 8) -> str:
    """A short noun phrase for what the goal is about ("" when nothing useful is left)."""
    text = re.split(r"(?<=[.!?;])\s+|\n|\s+-\s+|,\s+(?:so|and then|which|because)\b", goal.strip())[0]
    for _ in range(3):
        text = _LEAD_INS.sub("", text.strip())
    for _ in range(2):
        text = _STATE.sub("", text.strip(), count=1)
    text = _TARGETS.sub(" ", text)
    text = _CLAUSE_CUT.split(text, maxsplit=1)[0]
    words = [w.strip(".,;:!?()\"'") for w in text.split()]
    words = [w for w in words if w]
    while words and words[0].lower() in _EDGE_WORDS:
        words.pop(0)
    while words and words[-1].lower() in _EDGE_WORDS:
        words.pop()
    words = words[:max_words]
    while words and words[-1].lower() in _EDGE_WORDS:
        words.pop()
    if not words:
        return ""
    if len(words) > 1 and words[0].lower() in ("my", "our") and words[1].lower().endswith("ing"):
        words.pop(0)
    if len(words) == 1 and _ADJECTIVE.search(words[0].lower()):
        return ""
    if (skill := _ROLE_SKILLS.get(words[-1].lower())) is not None:
        words[-1] = skill
    if words[0].lower() in _VERBS:
        words[0] = _gerund(words[0].lower())
    elif goal.split()[0].strip("-*•") == words[0] and not words[0].isupper():
        # Only the goal's own first word was capitalised for being first; names inside keep their case.
        words[0] = words[0].lower()
    return " ".join(words)
