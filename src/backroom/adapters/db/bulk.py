"""Bulk writes for the hot path: ``INSERT … SELECT FROM unnest(array, array, …)`` with parameters in binary.

One short SQL text per table whatever the number of rows, so psycopg prepares and caches it once; columns travel
as binary arrays, so a 3 KB JSON body is not text-escaped character by character (measured here: multi-row
``VALUES`` statements spent over half of an import batch in psycopg's query splitting and array escaping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Json, Jsonb
from sqlalchemy import Connection


def driver(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one, for statements run often enough that SQLAlchemy's handling of
    each (compiling, caching, result wrapping) would cost more than the database; same transaction, same adapters
    (orjson for JSON, set by the dialect)."""
    return conn.connection.driver_connection  # type: ignore[return-value]


@dataclass(frozen=True)
class Col:
    """A column: its name, the SQL type its array is cast to, and how a row's value is selected from it."""

    name: str
    type: str
    select: str = "{}"


def insert_rows(
    conn: Connection, table: str, columns: Sequence[Col], rows: Sequence[Sequence[Any]], tail: str = ""
) -> list[tuple[Any, ...]]:
    """Insert rows (values in column order); ``tail`` adds ON CONFLICT / RETURNING. Returns what RETURNING gave."""
    if not rows:
        return []
    names = [f"c{i}" for i in range(len(columns))]
    arrays = ", ".join(f"%b::{c.type}[]" for c in columns)
    selects = ", ".join(c.select.format(f"u.{n}") for c, n in zip(columns, names, strict=True))
    sql = (f"INSERT INTO {table} ({', '.join(c.name for c in columns)})"
           f" SELECT {selects} FROM unnest({arrays}) AS u({', '.join(names)}) {tail}")
    params = [[_adapt(v, c.type) for v in values] for c, values in zip(columns, zip(*rows, strict=True), strict=True)]
    cursor = driver(conn).cursor()
    cursor.execute(sql.encode(), params)
    return list(cursor.fetchall()) if cursor.description else []


def update_rows(conn: Connection, table: str, key: Col, columns: Sequence[Col], rows: Sequence[Sequence[Any]],
                also: str = "") -> None:
    """Update rows by ``key`` (each row: the key's value, then the columns' in order) in one statement; ``also``
    adds fixed assignments (``updated_at = now()``)."""
    if not rows:
        return
    cols = (key, *columns)
    names = [f"c{i}" for i in range(len(cols))]
    arrays = ", ".join(f"%b::{c.type}[]" for c in cols)
    sets = [f"{c.name} = {c.select.format(f'u.{n}')}" for c, n in zip(columns, names[1:], strict=True)]
    sql = (f"UPDATE {table} SET {', '.join(sets + ([also] if also else []))}"
           f" FROM unnest({arrays}) AS u({', '.join(names)}) WHERE {table}.{key.name} = u.{names[0]}")
    params = [[_adapt(v, c.type) for v in values] for c, values in zip(cols, zip(*rows, strict=True), strict=True)]
    driver(conn).cursor().execute(sql.encode(), params)


def _adapt(value: Any, sql_type: str) -> Any:
    if value is None:
        return value
    if sql_type == "jsonb":
        return Jsonb(value)
    if sql_type == "json":
        return Json(value)
    return value


JSON_TEXT_ARRAY = "ARRAY(SELECT jsonb_array_elements_text({}))"  # a text[] per row travels as a JSON list
