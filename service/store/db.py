"""Opening the database (SQLite file or PostgreSQL) and bringing its schema up to date with Alembic."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# How long an SQLite writer waits for another one's lock before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any fixed number works: every process migrating the same PostgreSQL database takes this one lock.
_MIGRATION_LOCK_ID = 0x676F616C


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL then waits for a connection holding the file, not fails.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets readers run beside the one writer; it is a property of the file, set again for free.
        _switch_to_wal(cursor)
        # FULL syncs the WAL on every commit: NORMAL, in WAL mode, can lose acknowledged writes on power loss.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    # On a new file still in rollback mode, the switch can fail at once with "database is locked" while
    # another process migrates it (SQLite does not always call the busy handler there): try again until
    # the busy timeout has passed, as any other locked statement would wait.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Database:
    """An engine and its session factory; every store method opens its own short session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Run the Alembic migrations up to head; safe when several processes start at once."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            _lock_for_migration(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _lock_for_migration(connection: Connection) -> None:
    # Two workers starting together would both see an empty database and both create the tables.
    # The lock is held until the migration's transaction ends; the second then finds the schema at head.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
    elif connection.dialect.name == "sqlite":
        # sqlite3 sends no BEGIN before DDL by itself; this one takes the write lock and makes the
        # migration one transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_database(url: str) -> Database:
    """An engine for `url`: `sqlite:///path/to/file.db` (its folder is created) or
    `postgresql+psycopg://user@host/dbname`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # A PostgreSQL server can restart under a long-running service; check pooled connections first.
        engine = create_engine(parsed, pool_pre_ping=True)
    return Database(engine)
