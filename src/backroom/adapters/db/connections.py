"""Connected stores: which platform account feeds which backroom store, and how far reconciliation has read.

Credentials never live here (they come from the environment); a connection holds the account's name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t

NUMBERS_KEPT = 500  # recent order numbers kept per connection for the gap check


@dataclass(frozen=True)
class Connection:
    id: int
    store_id: int
    platform: str
    account: str
    callback_url: str
    reconcile_cursor: datetime | None
    last_polled_at: datetime | None
    last_poll: dict[str, Any]
    numbers_seen: list[int]


def save_connection(engine: Engine, store_id: int, platform: str, account: str, callback_url: str,
                    now: datetime) -> Connection:
    """Create the connection, or point an existing one at this store and URL (its cursor is kept)."""
    c = t.connections
    with engine.begin() as conn:
        stmt = pg_insert(c).values(store_id=store_id, platform=platform, account=account, callback_url=callback_url,
                                   created_at=now, updated_at=now)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["platform", "account"],
            set_={"store_id": store_id, "callback_url": callback_url, "updated_at": now}))
    found = get_connection(engine, platform, account)
    assert found is not None
    return found


def get_connection(engine: Engine, platform: str, account: str) -> Connection | None:
    c = t.connections
    with engine.connect() as conn:
        row = conn.execute(select(c).where(c.c.platform == platform, c.c.account == account)).first()
    return _connection(row) if row is not None else None


def list_connections(engine: Engine, store_id: int | None = None) -> list[Connection]:
    c = t.connections
    query = select(c).order_by(c.c.id)
    if store_id is not None:
        query = query.where(c.c.store_id == store_id)
    with engine.connect() as conn:
        return [_connection(r) for r in conn.execute(query)]


def record_poll(engine: Engine, connection_id: int, cursor: datetime | None, polled_at: datetime,
                found: dict[str, Any], numbers: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.connections).where(t.connections.c.id == connection_id).values(
            reconcile_cursor=cursor, last_polled_at=polled_at, last_poll=found,
            numbers_seen=sorted(set(numbers))[-NUMBERS_KEPT:], updated_at=polled_at))


def try_poll_lock(conn: Any, connection_id: int) -> bool:
    """One poller per connection at a time, whatever the number of workers (released at transaction end)."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('backroom.reconcile'), :id)"),
                             {"id": connection_id}).scalar_one())


def _connection(row: Any) -> Connection:
    return Connection(int(row.id), int(row.store_id), row.platform, row.account, row.callback_url,
                      row.reconcile_cursor, row.last_polled_at, dict(row.last_poll), [int(n) for n in row.numbers_seen])
