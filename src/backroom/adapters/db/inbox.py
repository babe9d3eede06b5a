"""The inbox outside the import transaction: deliveries recorded as they arrive (``received``, processed after the
reply; see service_layer/inbox_processing.py), the processor's side of them (one processor per store at a time,
oldest first, bounded attempts), and inputs we could not accept or deliberately ignore."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import Col, insert_rows
from backroom.service_layer.inbox_processing import Received, Settled
from backroom.service_layer.messagebus import InboxEntry

log = logging.getLogger(__name__)

ARRIVALS_CHANNEL = "backroom_inbox"  # NOTIFY payload: the ids of the stores whose inbox just received inputs


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


# -- deliveries as they arrive ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    store_id: int
    entry: InboxEntry
    status: str  # received (to process), processed (ignored: error says why) or rejected/failed (error says why)
    error: str | None
    received_at: datetime


_ARRIVAL_COLUMNS = (Col("store_id", "integer"), Col("source", "text"), Col("source_id", "text"), Col("kind", "text"),
                    Col("status", "text"), Col("headers", "jsonb"), Col("body", "text"), Col("error", "text"),
                    Col("received_at", "timestamptz"))
# A delivery kept earlier as rejected or failed (bad signature, an outage) does not block a good redelivery under the
# same id: it takes the row over. Nothing else is overwritten, and an input refused again stays as it was.
_ARRIVAL_CONFLICT = (
    "ON CONFLICT (store_id, source, source_id) DO UPDATE"
    " SET status = excluded.status, body = excluded.body, headers = excluded.headers, error = NULL,"
    " attempts = 0, next_attempt_at = NULL"
    " WHERE excluded.status = 'received' AND inbox.status IN ('rejected', 'failed')"
    " RETURNING store_id, source, source_id"
)


def record_arrivals(engine: Engine, arrivals: Sequence[Arrival], *, notify: bool = False) -> list[bool]:
    """Record deliveries that arrived together in one INSERT and one commit; for each, whether it was recorded now
    (False: one with its id was recorded before, or earlier in this batch: a duplicate). With notify, the commit
    also tells the listening inbox processor which stores received something (``listen_for_arrivals``)."""
    first: dict[tuple[int, str, str], Arrival] = {}
    for a in arrivals:
        first.setdefault((a.store_id, a.entry.source, a.entry.source_id), a)
    with engine.begin() as conn:
        recorded = {tuple(r) for r in insert_rows(conn, "inbox", _ARRIVAL_COLUMNS, [
            (a.store_id, a.entry.source, a.entry.source_id, a.entry.kind, a.status, dict(a.entry.headers),
             a.entry.body, a.error[:4000] if a.error else None, a.received_at) for a in first.values()],
            _ARRIVAL_CONFLICT)}
        stores = sorted({key[0] for key in recorded if first[key].status == "received"})
        if notify and stores:
            conn.execute(text("SELECT pg_notify(:channel, :stores)"),
                         {"channel": ARRIVALS_CHANNEL, "stores": ",".join(map(str, stores))})
    keys = [(a.store_id, a.entry.source, a.entry.source_id) for a in arrivals]
    return [key in recorded and first[key] is a for a, key in zip(arrivals, keys, strict=True)]


def listen_for_arrivals(dsn: str, wake: Callable[[list[int]], None], connected: Callable[[], None],
                        stop: threading.Event, *, check_s: float = 1.0) -> None:
    """Call ``wake`` with the stores named by each arrivals notification until ``stop`` is set (looked at every
    ``check_s``). ``connected`` is called once listening, and again after a lost connection is opened again
    (what was notified meanwhile is lost: it should look at everything due)."""
    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"LISTEN {ARRIVALS_CHANNEL}")
                connected()
                while not stop.is_set():
                    for notice in conn.notifies(timeout=check_s):
                        wake([int(s) for s in notice.payload.split(",") if s.isdigit()])
        except Exception as err:  # the database restarting, or unreachable for a while: the thread must go on
            log.warning("listening for inbox arrivals failed: %s; listening again", type(err).__name__)
            stop.wait(check_s)


# -- the processor's side ---------------------------------------------------------------------------------------

_DUE = "status = 'received' AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
_LOCK_CLASS = "hashtext('backroom.inbox')"


@contextlib.contextmanager
def store_lock(engine: Engine, store_id: int, *, wait: bool) -> Iterator[bool]:
    """Hold the right to process a store's inbox (True), or not (False: another processor holds it and wait is
    off). A session lock: it goes with the connection if the process dies, so nothing else records who holds it."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            conn.execute(text(f"SELECT pg_advisory_lock({_LOCK_CLASS}, :s)"), {"s": store_id})
        held = wait or bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_CLASS}, :s)"),
                                         {"s": store_id}).scalar_one())
        try:
            yield held
        finally:
            if held:
                conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_CLASS}, :s)"), {"s": store_id})


def stores_due(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(s) for s in conn.execute(text(f"SELECT DISTINCT store_id FROM inbox WHERE {_DUE}")).scalars()]


def has_due(engine: Engine, store_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM inbox WHERE store_id = :s AND {_DUE})"),
                                 {"s": store_id}).scalar_one())


def take_due(engine: Engine, store_id: int, limit: int) -> list[Received]:
    """The store's oldest due inputs, each with one more attempt counted (committed before processing begins, so an
    input whose processing kills the process runs out of attempts like one that raises)."""
    with engine.begin() as conn:
        rows = conn.execute(text(
            f"WITH due AS (SELECT id FROM inbox WHERE store_id = :s AND {_DUE} ORDER BY id LIMIT :n"
            " FOR UPDATE SKIP LOCKED)"
            " UPDATE inbox SET attempts = inbox.attempts + 1 FROM due WHERE inbox.id = due.id"
            " RETURNING inbox.id, inbox.source, inbox.source_id, inbox.kind, inbox.headers, inbox.body,"
            " inbox.attempts, inbox.error"), {"s": store_id, "n": limit}).all()
    return sorted((Received(int(r.id), InboxEntry(r.source, r.source_id, r.kind, r.body, r.headers), int(r.attempts),
                            r.error) for r in rows), key=lambda r: r.id)


def settle(engine: Engine, store_id: int, settled: Sequence[Settled]) -> None:
    """Record what became of inputs a batch did not process (those it did, its import marked processed)."""
    if not settled:
        return
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE inbox SET status = u.status, error = left(u.error, 4000),"
            " next_attempt_at = now() + make_interval(secs => u.delay)"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:errors AS text[]),"
            " CAST(:delays AS float8[])) AS u(id, status, error, delay)"
            " WHERE inbox.id = u.id AND inbox.store_id = :s AND inbox.status = 'received'"),
            {"s": store_id, "ids": [s.row_id for s in settled], "statuses": [s.status for s in settled],
             "errors": [s.error for s in settled], "delays": [s.retry_in_s for s in settled]})
