"""Splits what an employee pastes into goals, and checks each with the API's own goal rules."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, ValidationError

from service.schemas import MAX_GOAL_CHARS, goal_problems, goal_text_adapter

MAX_GOALS = 10
# Room for MAX_GOALS goals at their limit plus list markers; more cannot be a paste we would accept.
MAX_PASTE_CHARS = MAX_GOALS * (MAX_GOAL_CHARS + 10)
# "1." "2)" "(3)" or a bullet, then whitespace: "3.5% growth" and "-5% cost" keep their first characters.
_MARKER = re.compile(r"^(?:\(?\d{1,3}[.)]|[-*+\u2022\u2023\u25e6\u2013\u2014])(?:\s+|$)")


class PastedGoal(BaseModel):
    """One goal from a paste: its text, and why it cannot be used when it cannot."""

    model_config = ConfigDict(frozen=True)

    text: str
    error: str | None = None


class Paste(BaseModel):
    """A paste split into goals, or the reason the paste as a whole is refused."""

    model_config = ConfigDict(frozen=True)

    goals: tuple[PastedGoal, ...] = ()
    error: str | None = None


def split_goals(text: str) -> list[str]:
    """One goal per line; in a numbered or bulleted list, unmarked lines continue the item above."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    listed = any(_MARKER.match(line.strip()) for line in lines)
    goals: list[str] = []
    open_item = False
    for raw in lines:
        line = raw.strip()
        if not line:
            open_item = False
            continue
        marker = _MARKER.match(line)
        if marker:
            goals.append(line[marker.end() :].strip())
            open_item = True
        elif listed and open_item:
            # A list item wrapped over several lines by the editor it was copied from.
            goals[-1] = f"{goals[-1]} {line}"
        else:
            goals.append(line)
            open_item = listed
    return [goal for goal in goals if goal]


def _problem(goal: str) -> str | None:
    try:
        goal_text_adapter.validate_python(goal)
    except ValidationError as exc:
        return goal_problems(exc)
    return None


def parse_paste(text: str) -> Paste:
    """The goals in a paste, each checked; a paste that is empty, too long or has too many is refused."""
    if len(text) > MAX_PASTE_CHARS:
        return Paste(
            error=f"The text is {len(text):,} characters long; the page takes up to {MAX_PASTE_CHARS:,} "
            f"at a time. Paste up to {MAX_GOALS} goals, one per line."
        )
    goals = split_goals(text)
    if not goals:
        return Paste(error="Paste at least one goal, e.g. 'Close 20 deals a month'.")
    if len(goals) > MAX_GOALS:
        return Paste(
            error=f"You pasted {len(goals)} goals; the page takes up to {MAX_GOALS} at a time. "
            f"Keep the first {MAX_GOALS} and check the rest afterwards."
        )
    return Paste(goals=tuple(PastedGoal(text=goal, error=_problem(goal)) for goal in goals))
