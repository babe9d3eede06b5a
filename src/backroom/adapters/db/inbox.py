"""Inputs we could not accept are kept too: answered 4xx, recorded here for inspection, nothing else changed."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.service_layer.messagebus import InboxEntry


def record_rejected(engine: Engine, store_id: int, entry: InboxEntry, status: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            pg_insert(t.inbox)
            .values(store_id=store_id, source=entry.source, source_id=entry.source_id, kind=entry.kind,
                    status=status, headers=dict(entry.headers), body=entry.body, error=error[:4000],
                    received_at=text("now()"))
            .on_conflict_do_nothing(index_elements=["store_id", "source", "source_id"])
        )
