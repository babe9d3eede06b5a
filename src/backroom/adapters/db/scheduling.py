"""What the nightly jobs ask the database: which stores are due, and a lock so one worker runs them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from backroom.replenishment.planning import POLICY, RUN_SUBJECT, plan_trigger

NIGHTLY_PLAN_LOCK = 7_240_612


def try_lock(conn: Connection, key: int) -> bool:
    """A transaction-scoped advisory lock: False when another worker holds it (it is doing the job)."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar_one())


def stores_with_suppliers(conn: Connection) -> list[tuple[int, str, str]]:
    rows = conn.execute(text("SELECT id, slug, timezone FROM stores s WHERE EXISTS"
                             " (SELECT 1 FROM suppliers p WHERE p.store_id = s.id) ORDER BY id"))
    return [(int(r.id), str(r.slug), str(r.timezone)) for r in rows]


def planned_on(conn: Connection, store_id: int, day: date) -> bool:
    """Whether the store's replenishment plan for this day has run (its run decision is in the audit trail)."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM decisions WHERE store_id = :s AND policy = :p AND subject_type = :r"
        " AND trigger = :t)"), {"s": store_id, "p": POLICY, "r": RUN_SUBJECT, "t": plan_trigger(day)}).scalar_one())
