"""Plain-language reasons: what in a goal is, or is not, under the person's control."""

from __future__ import annotations

from service.cues import Cue, Cues
from service.taxonomy import KINDS, Kind


def _quote(phrase: str) -> str:
    return f"“{phrase}”"


def _performance_reason(cues: Cues) -> str:
    if phrase := cues.first(Cue.COMPARISON):
        return (
            f"It measures you against other people ({_quote(phrase)}), and how others do is "
            "not yours to control."
        )
    if phrase := cues.first(Cue.DECISION_BY_OTHERS):
        return (
            f"Success is decided by someone else ({_quote(phrase)}): you can prepare well and still "
            "not get the yes."
        )
    if (number := cues.first(Cue.TARGET_NUMBER)) or cues.first(Cue.RESULT_METRIC):
        target = number or cues.first(Cue.RESULT_METRIC) or ""
        schedule = cues.first(Cue.SCHEDULE)
        cadence = f" A schedule ({_quote(schedule)}) does not change that." if schedule else ""
        return (
            f"It sets a target ({_quote(target)}) that depends on customers, colleagues or the market "
            f"as well as on you.{cadence}"
        )
    return "It sets a clear target, but reaching it depends on things outside your control."


def _mastery_reason(cues: Cues) -> str:
    practice = cues.first(Cue.OWN_PRACTICE)
    schedule = cues.first(Cue.SCHEDULE)
    volume = cues.first(Cue.LEARNING_VOLUME)
    if volume:
        return (
            f"It counts your own learning or practice ({_quote(volume)}): the number is of things you do, "
            "so effort alone gets it done."
        )
    if practice and schedule:
        return (
            f"It names something you do yourself ({_quote(practice)}) on a schedule ({_quote(schedule)}), "
            "so you fully control it and can see your progress."
        )
    if practice:
        return (
            f"It is made of your own actions ({_quote(practice)}), so you fully control whether it happens."
        )
    return "It describes a practice or learning you do yourself, so you fully control it."


def _outcome_reason(cues: Cues) -> str:
    state = cues.first(Cue.VAGUE_STATE)
    lead = f"It describes an end state ({_quote(state)})" if state else "It describes a desired end state"
    return (
        f"{lead} with no target and no practice: you can influence it but not control it, and nothing "
        "says when it is reached or what to do first."
    )


_REASONS = {
    Kind.OUTCOME: _outcome_reason,
    Kind.PERFORMANCE: _performance_reason,
    Kind.MASTERY: _mastery_reason,
}


def explain(kind: Kind, cues: Cues) -> str:
    """A reason for the kind, pointing at the phrases of the goal that show it, then the kind's meaning."""
    return f"{_REASONS[kind](cues)} {KINDS[kind].title}: {KINDS[kind].controllable.lower()}"


def explain_guess(kind: Kind, language: str) -> str:
    """The reason for a kind guessed from a goal the classifier cannot read: its cues are English phrases,
    and in another language they quote false friends ("promotion")."""
    return (
        f"A rough guess: the goal is in {language}, and the built-in classifier reads English only. "
        f"{KINDS[kind].title}: {KINDS[kind].controllable.lower()}"
    )
