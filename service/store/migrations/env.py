"""Alembic's entry point: runs the migrations on the connection `Database.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.store.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run the migrations with service.store.open_database(url).migrate(), not the alembic CLI"
    )

context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
