"""Opening the database and migrating it, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from service.config import Settings
from service.store import Database, open_database
from service.store.db import MIGRATIONS_DIR
from service.store.tables import Base
from tests.store.clients import run_together

HEAD = "0002"


def _revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_build_the_schema_the_tables_describe(database: Database) -> None:
    with database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
    assert _revision(database) == HEAD


def test_migrating_again_changes_nothing(database: Database) -> None:
    database.migrate()
    assert _revision(database) == HEAD
    assert set(inspect(database.engine).get_table_names()) == {
        "alembic_version",
        "api_keys",
        "feedback",
        "idempotency",
    }


def test_the_initial_migration_downgrades_to_an_empty_database_and_back(database: Database) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) == {"alembic_version"}
    database.migrate()
    assert _revision(database) == HEAD


def test_workers_migrating_an_empty_database_at_once_all_succeed(db_url: str) -> None:
    def start_worker(_: int) -> str | None:
        db = open_database(db_url)
        try:
            db.migrate()
            return _revision(db)
        finally:
            db.dispose()

    assert run_together(4, start_worker) == [HEAD] * 4


def test_sqlite_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'nested' / 'folder' / 'store.db'}")
    try:
        with db.engine.connect() as conn:
            pragmas = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        db.dispose()
    # synchronous: 2 is FULL (0 OFF, 1 NORMAL, 3 EXTRA).
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 10_000}
    assert (tmp_path / "nested" / "folder" / "store.db").is_file()


def test_the_default_database_is_a_sqlite_file_under_var_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOAL_DATABASE_URL", raising=False)
    db = open_database(Settings(_env_file=None).database_url)  # type: ignore[call-arg]
    try:
        db.migrate()
    finally:
        db.dispose()
    assert (tmp_path / "var" / "goal-rewriter.db").is_file()


def test_an_answer_kept_before_subjects_were_recorded_survives_the_upgrade(db_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    database = open_database(db_url)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO idempotency "
                    "(key_name, idem_key, request_hash, status_code, body, created_at) "
                    "VALUES ('k', 'i', 'h', 200, '{}', CURRENT_TIMESTAMP)"
                )
            )
        database.migrate()
        with database.engine.connect() as connection:
            rows = connection.execute(text("SELECT key_name, subject FROM idempotency")).all()
        assert [tuple(row) for row in rows] == [("k", None)]
        assert _revision(database) == HEAD
    finally:
        database.dispose()
