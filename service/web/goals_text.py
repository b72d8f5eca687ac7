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
# A heading over a pasted list ("Goals for 2026:", "Q3 objectives", "My development plan") names the
# list, not a goal: a short line that ends in a colon, or one made only of these words and dates.
_HEADING_NOUNS = {"goal", "goals", "objective", "objectives", "okr", "okrs", "target", "targets", "kpi",
                  "kpis", "priority", "priorities", "pdp", "aims"}  # fmt: skip
_HEADING_WORDS = _HEADING_NOUNS | {
    "my", "our", "team", "personal", "development", "performance", "professional", "annual", "yearly",
    "for", "this", "next", "the", "and", "of", "in", "year", "quarter", "half", "review", "draft", "plan",
}  # fmt: skip
_PERIOD = re.compile(
    r"^(?:q[1-4]|h[12]|fy\d{2,4}|\d{4}(?:/\d{2,4})?|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|"
    r"june?|july?|aug(?:ust)?|sep(?:tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)$"
)
HEADING_WORDS_MAX = 6


class PastedGoal(BaseModel):
    """One goal from a paste: its text, and why it cannot be used when it cannot."""

    model_config = ConfigDict(frozen=True)

    text: str
    error: str | None = None


class Paste(BaseModel):
    """A paste split into goals, or the reason the paste as a whole is refused."""

    model_config = ConfigDict(frozen=True)

    goals: tuple[PastedGoal, ...] = ()
    headings: tuple[str, ...] = ()
    error: str | None = None


def is_heading(line: str) -> bool:
    """Whether a pasted line names the list rather than being a goal of it."""
    words = re.findall(r"[\w/]+", line.lower())
    if not words or len(words) > HEADING_WORDS_MAX:
        return False
    if line.rstrip().endswith(":"):
        return True
    named = [word for word in words if not _PERIOD.match(word)]
    names_a_list = "development plan" in line.lower() or any(w in _HEADING_NOUNS for w in named)
    return names_a_list and all(w in _HEADING_WORDS for w in named)


def split_goals(text: str, headings: list[str] | None = None) -> list[str]:
    """One goal per line; in a numbered or bulleted list, unmarked lines continue the item above. Headings
    are left out, and added to `headings` when it is given."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    listed = any(_MARKER.match(line.strip()) for line in lines)
    goals: list[str] = []
    open_item = False
    for raw in lines:
        line = raw.strip()
        if not line or (not _MARKER.match(line) and is_heading(line)):
            if line and headings is not None:
                headings.append(line)
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
    headings: list[str] = []
    goals = split_goals(text, headings)
    if not goals and headings:
        return Paste(
            error=f"“{headings[0]}” reads as the heading of a list, not a goal. Paste the goals under it, "
            "one per line."
        )
    if not goals:
        return Paste(error="Paste at least one goal, e.g. 'Close 20 deals a month'.")
    if len(goals) > MAX_GOALS:
        return Paste(
            error=f"You pasted {len(goals)} goals; the page takes up to {MAX_GOALS} at a time. "
            f"Keep the first {MAX_GOALS} and check the rest afterwards."
        )
    return Paste(
        goals=tuple(PastedGoal(text=goal, error=_problem(goal)) for goal in goals), headings=tuple(headings)
    )
