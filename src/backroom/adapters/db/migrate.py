"""Schema migrations (Alembic, run programmatically) and the default store every installation starts with."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, insert, select, text

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
    with engine.begin() as conn:
        found = conn.execute(select(stores.c.id).where(stores.c.slug == slug)).scalar()
        if found is not None:
            return int(found)
        return int(
            conn.execute(
                insert(stores)
                .values(slug=slug, name=name or slug, currency=currency, created_at=text("now()"))
                .returning(stores.c.id)
            ).scalar_one()
        )
