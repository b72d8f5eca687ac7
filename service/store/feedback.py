"""Verdicts people give on rewrites: recorded durably, erased per person, aged out, exported as eval rows."""

from __future__ import annotations

import builtins
import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import groupby
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select, update

from service.schemas import GoalText
from service.store.db import Database
from service.store.tables import FeedbackRow, IdempotencyRow, aware, utcnow
from service.taxonomy import Kind

Verdict = Literal["accepted", "rejected"]
MAX_REWRITE_CHARS = 2000
MAX_SUBJECT_CHARS = 200
EXPORT_FAMILY = "feedback"


def _plain_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, which SQLite would store: refused here, both behave the same.
    for position, char in enumerate(value):
        if char not in "\n\r\t" and unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(f"control character U+{ord(char):04X} at position {position}; send plain text")
    return value


# The length limits come before the check, so a too-long text is reported in characters.
RewriteText = Annotated[str, Field(min_length=1, max_length=MAX_REWRITE_CHARS), AfterValidator(_plain_text)]
SubjectText = Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_CHARS), AfterValidator(_plain_text)]
ShortText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_text)]


class FeedbackIn(BaseModel):
    """One verdict on one rewrite, as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    goal: GoalText
    rewrite: RewriteText = Field(description="The rewrite judged.")
    verdict: Verdict = Field(description="Whether the person took the rewrite.")
    goal_kind: Kind = Field(description="The kind the service gave the goal.")
    engine: ShortText = Field(description="Engine that wrote the rewrite.")
    prompt_version: ShortText | None = Field(
        default=None, description="Version of the prompt behind an LLM rewrite."
    )
    subject: SubjectText | None = Field(
        default=None,
        description="An opaque id of the person, from the calling tool, so their feedback can be erased.",
    )


class FeedbackRecord(BaseModel):
    """A stored verdict; `goal` and `rewrite` are null once retention has removed the text."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    key_name: str | None = Field(description="Name of the API key that sent it.")
    goal: str | None
    rewrite: str | None
    verdict: Verdict
    goal_kind: Kind
    engine: str
    prompt_version: str | None
    subject: str | None


class Erasure(BaseModel):
    """What erasing one person deleted."""

    subject: str
    deleted: int = Field(ge=0, description="Feedback records of this person.")
    answers_deleted: int = Field(
        ge=0, description="Stored idempotent answers to requests that named this person."
    )


def export_id(goal: str) -> str:
    """A stable id for an exported goal: the same text always gets the same id, and split."""
    return f"{EXPORT_FAMILY}-{hashlib.sha256(goal.encode()).hexdigest()[:16]}"


class FeedbackStore:
    """Feedback rows; each method is one short transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, item: FeedbackIn, *, key_name: str | None) -> FeedbackRecord:
        """Store one verdict; it is committed (durable) when this returns."""
        row = FeedbackRow(**item.model_dump(mode="json"), key_name=key_name, created_at=utcnow())
        with self._db.sessions() as session:
            session.add(row)
            session.commit()
            return FeedbackRecord.model_validate(row)

    def erase_subject(self, subject: str) -> Erasure:
        """Delete every row of this person, and every stored idempotent answer to a request that named
        them (it repeats their goal and rewrite), in one transaction."""
        with self._db.sessions() as session:
            feedback = session.execute(delete(FeedbackRow).where(FeedbackRow.subject == subject))
            answers = session.execute(delete(IdempotencyRow).where(IdempotencyRow.subject == subject))
            session.commit()
            return Erasure(
                subject=subject,
                deleted=int(feedback.rowcount),  # type: ignore[attr-defined]
                answers_deleted=int(answers.rowcount),  # type: ignore[attr-defined]
            )

    def apply_retention(self, *, days: int, now: datetime | None = None) -> int:
        """Remove the goal and rewrite text of rows older than `days`; the rows (kind, verdict, engine)
        stay for counts. The number of rows changed."""
        cutoff = aware(now) - timedelta(days=days)
        with self._db.sessions() as session:
            result = session.execute(
                update(FeedbackRow)
                .where(
                    FeedbackRow.created_at < cutoff,
                    FeedbackRow.goal.is_not(None) | FeedbackRow.rewrite.is_not(None),
                )
                .values(goal=None, rewrite=None)
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def count(self) -> int:
        """How many rows are stored."""
        with self._db.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(FeedbackRow)) or 0)

    def list(self, limit: int = 100) -> builtins.list[FeedbackRecord]:
        """The newest rows first."""
        with self._db.sessions() as session:
            rows = session.scalars(select(FeedbackRow).order_by(FeedbackRow.id.desc()).limit(limit))
            return [FeedbackRecord.model_validate(row) for row in rows]

    def export_accepted(self) -> Iterator[dict[str, Any]]:
        """Accepted rewrites as labelled rows (`service.labelled.LabelledGoal`), one per goal text.

        The accepted rewrites become the goal's `references`; the label is the kind most often given to the
        goal. Goals whose text retention removed are gone; mastery goals are left out, since the eval set
        holds no references for them.
        """
        query = (
            select(FeedbackRow.goal, FeedbackRow.goal_kind, FeedbackRow.rewrite)
            .where(
                FeedbackRow.verdict == "accepted",
                FeedbackRow.goal.is_not(None),
                FeedbackRow.rewrite.is_not(None),
            )
            # Any order that puts equal texts together would do; the id keeps references in arrival order.
            .order_by(FeedbackRow.goal, FeedbackRow.id)
            .execution_options(yield_per=500)
        )
        with self._db.sessions() as session:
            for goal, rows in groupby(session.execute(query), key=lambda row: row.goal):
                group = builtins.list(rows)
                kinds = Counter(Kind(row.goal_kind) for row in group)
                # max keeps the first of a tie, so a tie goes to the less controllable kind.
                label = max(Kind, key=kinds.__getitem__)
                if label is Kind.MASTERY:
                    continue
                yield {
                    "id": export_id(goal),
                    "family": EXPORT_FAMILY,
                    "text": goal,
                    "label": label.value,
                    "tags": [EXPORT_FAMILY],
                    "references": builtins.list(dict.fromkeys(row.rewrite for row in group)),
                }
