"""Inputs recorded outside the import transaction: those we could not accept (answered 4xx, kept for inspection,
nothing else changed) and those we deliberately ignore (kept as processed, with the reason)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.service_layer.messagebus import InboxEntry


def record_input(engine: Engine, store_id: int, entry: InboxEntry, status: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            pg_insert(t.inbox)
            .values(store_id=store_id, source=entry.source, source_id=entry.source_id, kind=entry.kind,
                    status=status, headers=dict(entry.headers), body=entry.body, error=error[:4000],
                    received_at=text("now()"))
            .on_conflict_do_nothing(index_elements=["store_id", "source", "source_id"])
        )


def processed_ids(engine: Engine, store_id: int, entries: Sequence[InboxEntry]) -> set[tuple[str, str]]:
    """Which of these inputs were already processed (a redelivery the batcher answers as a duplicate at once)."""
    if not entries:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT source, source_id FROM inbox WHERE store_id = :s AND status = 'processed'"
            " AND (source, source_id) IN (SELECT * FROM unnest(CAST(:src AS text[]), CAST(:ids AS text[])))"),
            {"s": store_id, "src": [e.source for e in entries], "ids": [e.source_id for e in entries]})
        return {(r.source, r.source_id) for r in rows}
