"""Every store test runs on SQLite (a temporary file) and on PostgreSQL (`db_url`, in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.store import Database, open_database


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """An opened, migrated database."""
    db = open_database(db_url)
    db.migrate()
    yield db
    db.dispose()
