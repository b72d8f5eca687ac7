"""Stored idempotent answers carry the request's `subject`, so erasure by subject reaches them too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add an indexed column to a table in place on every version.
    with op.batch_alter_table("idempotency") as table:
        table.add_column(sa.Column("subject", sa.String(200), nullable=True))
        table.create_index("ix_idempotency_subject", ["subject"])


def downgrade() -> None:
    with op.batch_alter_table("idempotency") as table:
        table.drop_index("ix_idempotency_subject")
        table.drop_column("subject")
