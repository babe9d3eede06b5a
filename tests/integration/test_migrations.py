"""The migrations build exactly the schema the code declares: no table, column, index or constraint drifts."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backroom.adapters.db.engine import make_engine
from backroom.adapters.db.tables import metadata

pytestmark = pytest.mark.integration


def _ours(name: str | None, type_: str, *_: Any) -> bool:
    """The job queue's tables are procrastinate's own schema, created from its SQL, not from our metadata."""
    return not (type_ == "table" and (name or "").startswith(("procrastinate", "alembic_version")))


def test_migrated_database_matches_the_declared_schema(template_db: str) -> None:
    engine = make_engine(template_db)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _ours, "compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []
