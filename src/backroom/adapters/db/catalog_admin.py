"""Writing the catalog, locations and opening stock (demo, tests, CSV import later). Stock changes after the
opening count go through ReceiveStock so the ledger and the backorder queue see them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    title: str
    price: Decimal


def upsert_location(engine: Engine, store_id: int, code: str, name: str, priority: int = 100) -> int:
    with engine.begin() as conn:
        stmt = pg_insert(t.locations).values(store_id=store_id, code=code, name=name, priority=priority)
        upsert = stmt.on_conflict_do_update(
            index_elements=["store_id", "code"], set_={"name": name, "priority": priority}
        ).returning(t.locations.c.id)
        return int(conn.execute(upsert).scalar_one())


def upsert_product(engine: Engine, store_id: int, handle: str, title: str, variants: Iterable[VariantSpec]) -> int:
    with engine.begin() as conn:
        stmt = pg_insert(t.products).values(store_id=store_id, handle=handle, title=title)
        stmt = stmt.on_conflict_do_update(index_elements=["store_id", "handle"], set_={"title": title})
        product_id = int(conn.execute(stmt.returning(t.products.c.id)).scalar_one())
        for v in variants:
            vs = pg_insert(t.variants).values(
                store_id=store_id, product_id=product_id, sku=v.sku, title=v.title, price=v.price
            )
            conn.execute(vs.on_conflict_do_update(
                index_elements=["store_id", "sku"], set_={"title": v.title, "price": v.price}))
        return product_id


def set_opening_stock(engine: Engine, store_id: int, levels: Iterable[tuple[str, int, int]]) -> None:
    """(sku, location_id, on_hand) for SKUs with no stock row yet; recorded in the ledger as 'received'."""
    with engine.begin() as conn:
        for sku, location_id, on_hand in levels:
            inserted = conn.execute(
                pg_insert(t.stock_levels)
                .values(store_id=store_id, sku=sku, location_id=location_id, on_hand=on_hand, reserved=0)
                .on_conflict_do_nothing(index_elements=["store_id", "sku", "location_id"])
                .returning(t.stock_levels.c.id)
            ).first()
            if inserted is not None and on_hand:
                conn.execute(insert(t.stock_ledger).values(
                    store_id=store_id, sku=sku, location_id=location_id, delta_on_hand=on_hand, delta_reserved=0,
                    reason="received", reference="opening-stock", at=text("now()")))


def reset_store(engine: Engine, store_id: int) -> None:
    """Delete every record of one store (the demo starts fresh); other stores are untouched."""
    with engine.begin() as conn:
        for table in ("events", "decisions", "review_items", "effects", "inbox", "shipments", "reservations",
                      "order_lines", "orders", "customers", "stock_ledger", "stock_levels", "variants", "products",
                      "locations", "automation_modes"):
            conn.execute(text(f"DELETE FROM {table} WHERE store_id = :s"), {"s": store_id})
