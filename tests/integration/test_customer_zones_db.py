"""Customers' time zones from the shipping address of their latest order, on real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from tests.conftest import scalar, seed_catalog

from backroom.adapters.db.customer_zones import customer_zones, latest_addresses
from backroom.adapters.db.uow import SqlUnitOfWork
from backroom.bootstrap import Backroom
from backroom.orders import commands

pytestmark = pytest.mark.integration


def place(app: Backroom, ext: str, email: str, placed: datetime, country: str, area: str = "") -> int:
    body = json.dumps({
        "id": ext, "number": f"#{ext}", "email": email, "customer_name": "Ada Lovelace", "currency": "GBP",
        "payment_state": "paid", "placed_at": placed.isoformat(),
        "shipping_address": {"name": "Ada Lovelace", "line1": "1 Main Street", "city": "Somewhere",
                             "postal_code": "12345", "country": country, "area": area},
        "lines": [{"sku": "LAMP", "quantity": 1, "unit_price": "20.00"}],
    }).encode()
    outcome = app.ingest_order(body, {}, "api")
    assert outcome.order_id is not None, outcome
    return outcome.order_id


def test_latest_order_says_where_a_customer_lives(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (100, 0)})
    store = app.store_id()
    # Ada moved from London to California; her newer order (placed later, though ingested first) wins, and it
    # counts although it was cancelled.
    newer = place(app, "A2", "Ada@Example.com", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "US", "CA")
    place(app, "A1", "ada@example.com", datetime(2026, 10, 1, 9, 0, tzinfo=UTC), "GB")
    app.handle(commands.CancelOrder(newer))
    assert scalar(app, "SELECT status FROM orders WHERE id = :i", i=newer) == "cancelled"
    place(app, "G1", "grace@example.com", datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "AU", "WA")
    eu = place(app, "E1", "eu@example.com", datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "GB")
    with app.engine.begin() as conn:  # a country written as a name, as imported data has it (UCI Online Retail)
        conn.execute(text("UPDATE orders SET shipping_address = shipping_address || CAST(:a AS jsonb)"
                          " WHERE external_id = 'G1'"), {"a": json.dumps({"country": "Australia"})})
        conn.execute(text("UPDATE orders SET shipping_address = shipping_address || CAST(:a AS jsonb) WHERE id = :e"),
                     {"a": json.dumps({"country": "European Community"}), "e": eu})
    asked = ["ADA@example.com", "nobody@example.com", "grace@example.com", "eu@example.com"]

    with app.engine.connect() as conn:
        assert latest_addresses(conn, store, asked) == {
            "ada@example.com": ("US", "CA"), "grace@example.com": ("Australia", "WA"),
            "eu@example.com": ("European Community", "")}
        assert customer_zones(conn, store, asked) == {
            "ada@example.com": ZoneInfo("America/Los_Angeles"), "grace@example.com": ZoneInfo("Australia/Perth")}
        assert customer_zones(conn, store, []) == {}
        assert customer_zones(conn, store + 1, asked) == {}  # another store's orders are not this store's customers

    with SqlUnitOfWork(app.engine, store, app.clock) as uow:  # also inside a unit of work
        assert customer_zones(uow, store, ["nobody@example.com", "ada@example.com"]) == {
            "ada@example.com": ZoneInfo("America/Los_Angeles")}


def test_same_instant_orders_are_broken_by_id(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (100, 0)})
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    place(app, "B1", "bo@example.com", at, "GB")
    place(app, "B2", "bo@example.com", at, "CA", "BC")
    with app.engine.connect() as conn:
        assert customer_zones(conn, app.store_id(), ["bo@example.com"]) == {
            "bo@example.com": ZoneInfo("America/Vancouver")}
