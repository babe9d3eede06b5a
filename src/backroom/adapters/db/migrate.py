"""Schema migrations (Alembic, run programmatically) and the default store every installation starts with."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db.tables import stores

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 7_240_611  # one migrator at a time across processes


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def ensure_store(engine: Engine, slug: str, name: str | None = None, currency: str = "GBP") -> int:
    """The store's id, creating it on first use; two processes doing so at once get the same store."""
    with engine.begin() as conn:
        conn.execute(
            pg_insert(stores)
            .values(slug=slug, name=name or slug, currency=currency, created_at=text("now()"))
            .on_conflict_do_nothing(index_elements=["slug"])
        )
        return int(conn.execute(select(stores.c.id).where(stores.c.slug == slug)).scalar_one())
