"""Feedback: durable records, erasure per person, retention, the eval export, and concurrent writers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from service.labelled import LabelledGoal
from service.store import Database, FeedbackIn, FeedbackStore, open_database
from service.store.feedback import export_id
from service.taxonomy import Kind
from tests.store.clients import run_together


def _item(**changes: Any) -> FeedbackIn:
    fields: dict[str, Any] = {
        "goal": "Close 20 deals per month",
        "rewrite": "I will prospect for one hour every Tuesday morning.",
        "verdict": "accepted",
        "goal_kind": Kind.PERFORMANCE,
        "engine": "embedded",
        "prompt_version": None,
        "subject": "person-1",
    } | changes
    return FeedbackIn(**fields)


def test_recorded_feedback_is_visible_at_once_to_another_connection(db_url: str, database: Database) -> None:
    record = FeedbackStore(database).record(_item(prompt_version="rewrite@3"), key_name="hr-tool")
    assert record.id > 0
    assert record.created_at.tzinfo is not None
    assert (record.key_name, record.prompt_version, record.goal_kind) == (
        "hr-tool",
        "rewrite@3",
        Kind.PERFORMANCE,
    )

    other = open_database(db_url)
    try:
        assert FeedbackStore(other).list() == [record]
        assert FeedbackStore(other).count() == 1
    finally:
        other.dispose()


def test_erasing_a_subject_deletes_only_that_persons_rows(database: Database) -> None:
    store = FeedbackStore(database)
    for subject in ("person-1", "person-2", "person-1", None):
        store.record(_item(subject=subject), key_name=None)
    assert store.erase_subject("person-1").deleted == 2
    assert store.erase_subject("person-1").deleted == 0
    assert sorted(str(row.subject) for row in store.list()) == ["None", "person-2"]


def test_retention_removes_old_text_but_keeps_the_row_for_counts(database: Database) -> None:
    store = FeedbackStore(database)
    store.record(_item(), key_name="k")
    now = datetime.now(UTC)
    assert store.apply_retention(days=365, now=now + timedelta(days=364)) == 0
    assert store.apply_retention(days=365, now=now + timedelta(days=366)) == 1
    assert store.apply_retention(days=365, now=now + timedelta(days=366)) == 0
    [row] = store.list()
    assert (row.goal, row.rewrite) == (None, None)
    assert (row.goal_kind, row.verdict, row.engine, row.subject) == (
        Kind.PERFORMANCE,
        "accepted",
        "embedded",
        "person-1",
    )
    assert store.count() == 1


def test_retention_refuses_a_naive_time(database: Database) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        FeedbackStore(database).apply_retention(days=1, now=datetime(2026, 1, 1))


def test_export_groups_accepted_rewrites_of_a_goal_into_valid_eval_rows(database: Database) -> None:
    store = FeedbackStore(database)
    store.record(_item(rewrite="A"), key_name=None)
    store.record(_item(rewrite="B"), key_name=None)
    store.record(_item(rewrite="A"), key_name=None)
    store.record(_item(rewrite="rejected one", verdict="rejected"), key_name=None)
    store.record(_item(goal="be a better leader", goal_kind=Kind.OUTCOME, rewrite="C"), key_name=None)
    store.record(_item(goal="read one report a week", goal_kind=Kind.MASTERY, rewrite="D"), key_name=None)

    rows = sorted(store.export_accepted(), key=lambda row: row["text"])
    goals = [LabelledGoal.model_validate(row) for row in rows]
    assert [(g.text, g.label, g.references) for g in goals] == [
        ("Close 20 deals per month", Kind.PERFORMANCE, ["A", "B"]),
        ("be a better leader", Kind.OUTCOME, ["C"]),
    ]
    assert all(g.family == "feedback" and g.tags == ["feedback"] for g in goals)
    assert goals[0].id == export_id("Close 20 deals per month") != goals[1].id


def test_export_id_is_stable_across_runs() -> None:
    assert export_id("Close 20 deals per month") == "feedback-cf57be8b6e9a0733"


def test_goals_whose_text_retention_removed_are_not_exported(database: Database) -> None:
    store = FeedbackStore(database)
    store.record(_item(), key_name=None)
    store.apply_retention(days=1, now=datetime.now(UTC) + timedelta(days=2))
    store.record(_item(goal="be a better leader", goal_kind=Kind.OUTCOME), key_name=None)
    assert [row["text"] for row in store.export_accepted()] == ["be a better leader"]


def test_feedback_from_eight_concurrent_clients_is_all_stored(db_url: str, database: Database) -> None:
    clients, writes = 8, 25

    def client(number: int) -> list[int]:
        # Its own engine and connections, as a separate worker process would have.
        db = open_database(db_url)
        try:
            store = FeedbackStore(db)
            return [
                store.record(
                    _item(goal=f"goal {number}-{w}", subject=f"client-{number}"), key_name=f"key-{number}"
                ).id
                for w in range(writes)
            ]
        finally:
            db.dispose()

    ids = [row_id for client_ids in run_together(clients, client) for row_id in client_ids]

    store = FeedbackStore(database)
    stored = store.list(limit=1000)
    assert store.count() == len(stored) == clients * writes == len(set(ids))
    assert {(row.goal, row.key_name, row.subject) for row in stored} == {
        (f"goal {n}-{w}", f"key-{n}", f"client-{n}") for n in range(clients) for w in range(writes)
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"goal": "x" * 1001}, "goal"),
        ({"goal": "  "}, "goal"),
        ({"rewrite": "x" * 2001}, "rewrite"),
        ({"subject": "s" * 201}, "subject"),
        ({"verdict": "maybe"}, "verdict"),
        ({"goal_kind": "vague"}, "goal_kind"),
        ({"rating": 5}, "rating"),
        ({"rewrite": "nul\x00"}, "rewrite"),
        ({"subject": "bell\x07"}, "subject"),
    ],
)
def test_feedback_in_refuses_bad_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _item(**changes)
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_rewrites_keep_line_breaks_a_browser_form_sends() -> None:
    assert _item(rewrite="line one\r\nline two\tend").rewrite == "line one\r\nline two\tend"
