"""Splitting a paste into goals, and refusing pastes the page cannot take."""

from __future__ import annotations

import pytest

from service.schemas import MAX_GOAL_CHARS
from service.web.goals_text import MAX_GOALS, MAX_PASTE_CHARS, parse_paste, split_goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Close 20 deals per month", ["Close 20 deals per month"]),
        ("  be a better leader \n\n read a book a month\r\n", ["be a better leader", "read a book a month"]),
        (
            "1. Close 20 deals\n2) be a better leader\n(3) read",
            ["Close 20 deals", "be a better leader", "read"],
        ),
        ("- one\n* two\n• three\n\u2013 four\n+ five", ["one", "two", "three", "four", "five"]),
        ("3.5% growth in sales\n-5% cost", ["3.5% growth in sales", "-5% cost"]),
        (
            "1. Close 20 deals per month with\n   new clients\n2. lead well",
            ["Close 20 deals per month with new clients", "lead well"],
        ),
        ("My goals:\n1. sell more\n\nNote below", ["sell more", "Note below"]),
        ("1.\n2. sell more\n-", ["sell more"]),
        ("", []),
        (" \n\t\n", []),
    ],
)
def test_paste_is_split_one_goal_per_line_or_list_item(text: str, goals: list[str]) -> None:
    assert split_goals(text) == goals


@pytest.mark.parametrize(
    "heading",
    ["Goals for 2026:", "Q3 objectives", "My development plan", "2026 goals", "OKRs FY26", "Targets:"],
)
def test_a_heading_over_the_list_is_left_out_and_named(heading: str) -> None:
    paste = parse_paste(f"{heading}\n1. Close 20 deals per month\n2. Read one report a week")
    assert [goal.text for goal in paste.goals] == ["Close 20 deals per month", "Read one report a week"]
    assert paste.headings == (heading,)


@pytest.mark.parametrize(
    "goal", ["Hit my targets for Q3", "Set goals with each of my reports", "Plan the year"]
)
def test_a_goal_about_goals_is_not_a_heading(goal: str) -> None:
    assert [g.text for g in parse_paste(goal).goals] == [goal]


def test_a_paste_of_only_a_heading_says_to_paste_the_goals_under_it() -> None:
    paste = parse_paste("Goals for 2026:")
    assert paste.goals == ()
    assert paste.error is not None
    assert "heading of a list" in paste.error


def test_control_characters_are_not_treated_as_line_breaks() -> None:
    assert split_goals("sell more\x0cnow") == ["sell more\x0cnow"]


def test_each_goal_is_checked_with_the_api_rules() -> None:
    paste = parse_paste(f"sell more\nfix\x00bugs\n{'a' * (MAX_GOAL_CHARS + 1)}")
    assert paste.error is None
    assert [g.error is None for g in paste.goals] == [True, False, False]
    assert "control character" in (paste.goals[1].error or "")
    assert "limit" in (paste.goals[2].error or "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one goal"),
        ("\n".join(f"goal {i}" for i in range(MAX_GOALS + 1)), f"up to {MAX_GOALS}"),
        ("a" * (MAX_PASTE_CHARS + 1), "characters long"),
    ],
)
def test_a_paste_the_page_cannot_take_is_refused_with_a_reason(text: str, says: str) -> None:
    paste = parse_paste(text)
    assert paste.goals == ()
    assert says in (paste.error or "")


def test_the_most_goals_allowed_are_taken() -> None:
    assert len(parse_paste("\n".join(f"goal {i}" for i in range(MAX_GOALS))).goals) == MAX_GOALS
