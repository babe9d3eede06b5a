"""Alembic environment: the URL comes from the caller (backroom.adapters.db.migrate), never from a file."""

from __future__ import annotations

from alembic import context

from backroom.adapters.db.tables import metadata

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
