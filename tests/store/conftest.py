"""Every store test runs on SQLite (a temporary file) and on PostgreSQL (the session's throw-away cluster)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.store import Database, open_database
from tests.postgres import PostgresCluster

_names = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'store.db'}"
        return
    # `postgres` (tests/conftest.py) is asked for only here, so SQLite-only runs start no cluster.
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = f"store_{next(_names)}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """An opened, migrated database."""
    db = open_database(db_url)
    db.migrate()
    yield db
    db.dispose()
