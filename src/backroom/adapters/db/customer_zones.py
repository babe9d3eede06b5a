"""Where customers live, for sending them mail at their own local hours: the country and area of the shipping address
of each one's most recent order, and the time zone that makes.

A customer's latest order counts whatever became of it (a cancelled order still says where they live). Emails are
matched lower-cased: orders store the buyer's email lower-cased (``orders.handlers`` writes ``o.email.lower()``, the
only way orders are written), so the lookup is a plain equality that ``ix_orders_store_email`` (store_id, email,
placed_at) serves: one index probe per customer, reading one row, however many orders they have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from backroom.customers.timezones import zone_for

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork

# One statement for the whole list: each email probes the index for its newest order (placed_at, then id, newest
# first); an email with no order in the store yields no row.
_LATEST_ADDRESSES = text("""
SELECT e.email, coalesce(o.shipping_address ->> 'country', '') AS country,
       coalesce(o.shipping_address ->> 'area', '') AS area
FROM unnest(CAST(:emails AS text[])) AS e(email)
CROSS JOIN LATERAL (
    SELECT shipping_address FROM orders
    WHERE store_id = :s AND email = e.email
    ORDER BY placed_at DESC, id DESC
    LIMIT 1
) o
""")


def latest_addresses(conn_or_uow: Connection | SqlUnitOfWork, store_id: int,
                     emails: list[str]) -> dict[str, tuple[str, str]]:
    """Lower-cased email → (country, area) of the shipping address of that customer's most recent order in the
    store; customers without orders are absent."""
    wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
    if not wanted:
        return {}
    rows = conn_or_uow.execute(_LATEST_ADDRESSES, {"s": store_id, "emails": wanted}).all()
    return {str(r.email): (str(r.country), str(r.area)) for r in rows}


def customer_zones(conn_or_uow: Connection | SqlUnitOfWork, store_id: int, emails: list[str]) -> dict[str, ZoneInfo]:
    """Lower-cased email → the customer's time zone from their latest shipping address; customers with no order or
    an address that tells no zone are absent (the caller uses the store's zone for them)."""
    zones: dict[str, ZoneInfo] = {}
    for email, (country, area) in latest_addresses(conn_or_uow, store_id, emails).items():
        name = zone_for(country, area)
        if name is not None:
            zones[email] = ZoneInfo(name)
    return zones
