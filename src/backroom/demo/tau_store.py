"""The τ-bench retail world as a backroom store, for the support agent's conversation tests and trials: its products
become the catalog (one SKU per variant), its orders arrive through the real import and are brought to their state
(shipped with their tracking ids, delivered, cancelled) through the real commands.

Read at run time from BACKROOM_SHARED_DATA; nothing of it is copied into the repository. What τ-bench does not give
is simulated and said so: stock (what the orders take, plus ``STOCK_PER_VARIANT`` of each available variant), the
carrier (``CARRIER``), and an email for users it has none for (``{user_id}@tau.example``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import text

from backroom.adapters.db import catalog_admin
from backroom.bootstrap import Backroom
from backroom.connectors.generic import parse_order
from backroom.orders import commands
from backroom.orders.commands import ImportOrders, ResolveReviewItem
from backroom.support.tau import TauOrder, TauWorld

STOCK_PER_VARIANT = 100
CARRIER = "UPS"
PLACED_AT = "2026-11-01T10:00:00+00:00"
_COUNTRIES = {"USA": "US"}


@dataclass(frozen=True)
class TauStore:
    store: str
    orders: int
    emails: dict[str, str]  # user id → the email the store knows them by


def load_tau_store(app: Backroom, world: TauWorld, store: str = "tau",
                   order_ids: Iterable[str] | None = None) -> TauStore:
    """The world's catalog and (these, or all) orders in ``store``, each order in its τ state."""
    store_id = app.store_id(store)
    location = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main", priority=10)
    catalog_admin.upsert_products(app.engine, store_id, [
        (product.id, product.name, [catalog_admin.VariantSpec(v.item_id, _variant_title(v.options), v.price)
                                    for v in product.variants.values()])
        for product in world.products.values()])
    emails = {u.id: (u.email or f"{u.id}@tau.example").lower() for u in world.users.values()}
    wanted = [world.orders[i] for i in order_ids] if order_ids is not None else list(world.orders.values())
    # what the orders take, so each arrives in its state instead of on backorder, plus shelf stock of what τ sells
    taken = Counter(item.item_id for order in wanted for item in order.items)
    catalog_admin.set_opening_stock(app.engine, store_id, [
        (v.item_id, location, taken[v.item_id] + (STOCK_PER_VARIANT if v.available else 0))
        for product in world.products.values() for v in product.variants.values()])
    for start in range(0, len(wanted), 100):
        batch = wanted[start:start + 100]
        app.handle(ImportOrders(tuple(parse_order(_order_json(o, emails), channel="tau") for o in batch)), store)
    ids = _order_ids(app, store_id)
    for item_id, action in _held(app, store_id):  # τ's orders passed their checks (high value, say): approved
        app.handle(ResolveReviewItem(item_id, action, "tau"), store)
    for order in wanted:
        order_id = ids[order.id]
        if order.status in ("processed", "delivered"):
            tracking = order.tracking_ids[0] if order.tracking_ids else f"TAU{order.id.lstrip('#')}"
            app.handle(commands.RecordShipment(order_id, CARRIER, tracking,
                                               f"https://www.ups.com/track?tracknum={tracking}"), store)
        if order.status == "delivered":
            app.handle(commands.RecordDelivery(order_id), store)
        if order.status == "cancelled":
            app.handle(commands.CancelOrder(order_id, "cancelled in the τ world", "tau"), store)
    return TauStore(store, len(wanted), emails)


def _order_json(order: TauOrder, emails: dict[str, str]) -> bytes:
    a = order.address
    name = " ".join(part.capitalize() for part in order.user_id.split("_")[:2])
    lines: dict[str, dict[str, object]] = {}
    for item in order.items:  # the same variant twice is one line of two
        line = lines.setdefault(item.item_id, {"sku": item.item_id, "title": item.name, "quantity": 0,
                                               "unit_price": str(item.price)})
        line["quantity"] = int(str(line["quantity"])) + 1
    return json.dumps({
        "id": order.id, "number": order.id, "email": emails.get(order.user_id, f"{order.user_id}@tau.example"),
        "customer_name": name, "currency": "USD", "payment_state": "paid", "placed_at": PLACED_AT,
        "shipping_address": {"name": name, "line1": a.address1, "line2": a.address2, "city": a.city,
                             "area": a.state, "postal_code": a.zip, "country": _COUNTRIES.get(a.country, a.country)},
        "lines": list(lines.values()),
    }).encode()


def _variant_title(options: Mapping[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def _order_ids(app: Backroom, store_id: int) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {str(r.number): int(r.id) for r in conn.execute(
            text("SELECT id, number FROM orders WHERE store_id = :s"), {"s": store_id})}


def _held(app: Backroom, store_id: int) -> list[tuple[int, str]]:
    with app.engine.connect() as conn:
        return [(int(r.id), "approve") for r in conn.execute(text(
            "SELECT id FROM review_items WHERE store_id = :s AND status = 'open' AND subject_type = 'order'"
            " AND 'approve' = ANY(allowed_actions) ORDER BY id"), {"s": store_id})]
