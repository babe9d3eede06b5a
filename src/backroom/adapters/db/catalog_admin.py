"""Writing the catalog, locations and opening stock (demo, tests, CSV import later). Stock changes after the
opening count go through ReceiveStock so the ledger and the backorder queue see them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import Col, insert_rows


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    title: str
    price: Decimal
    low_stock_threshold: int | None = None  # None: the store's default (BACKROOM_LOW_STOCK_THRESHOLD)


def upsert_location(engine: Engine, store_id: int, code: str, name: str, priority: int = 100) -> int:
    with engine.begin() as conn:
        stmt = pg_insert(t.locations).values(store_id=store_id, code=code, name=name, priority=priority)
        upsert = stmt.on_conflict_do_update(
            index_elements=["store_id", "code"], set_={"name": name, "priority": priority}
        ).returning(t.locations.c.id)
        return int(conn.execute(upsert).scalar_one())


def upsert_product(engine: Engine, store_id: int, handle: str, title: str, variants: Iterable[VariantSpec]) -> int:
    return upsert_products(engine, store_id, [(handle, title, variants)])[0]


def upsert_products(engine: Engine, store_id: int,
                    products: Iterable[tuple[str, str, Iterable[VariantSpec]]]) -> list[int]:
    """(handle, title, variants) → product ids, in one transaction of two statements."""
    by_handle = {handle: (title, list(specs)) for handle, title, specs in products}  # one row per key: the last
    if not by_handle:
        return []
    with engine.begin() as conn:
        returned = insert_rows(conn, "products", _PRODUCT_COLUMNS,
                               [(store_id, h, title) for h, (title, _) in by_handle.items()],
                               "ON CONFLICT (store_id, handle) DO UPDATE SET title = excluded.title"
                               " RETURNING handle, id")
        ids = {str(handle): int(pid) for handle, pid in returned}
        variants = {v.sku: (store_id, ids[handle], v.sku, v.title, v.price, v.low_stock_threshold)
                    for handle, (_, specs) in by_handle.items() for v in specs}
        insert_rows(conn, "variants", _VARIANT_COLUMNS, list(variants.values()),
                    "ON CONFLICT (store_id, sku) DO UPDATE SET title = excluded.title, price = excluded.price,"
                    " low_stock_threshold = excluded.low_stock_threshold")
    return [ids[handle] for handle in by_handle]


_PRODUCT_COLUMNS = (Col("store_id", "bigint"), Col("handle", "text"), Col("title", "text"))
_VARIANT_COLUMNS = (Col("store_id", "bigint"), Col("product_id", "bigint"), Col("sku", "text"), Col("title", "text"),
                    Col("price", "numeric"), Col("low_stock_threshold", "integer"))


def set_opening_stock(engine: Engine, store_id: int, levels: Iterable[tuple[str, int, int]]) -> None:
    """(sku, location_id, on_hand) for SKUs with no stock row yet; recorded in the ledger as 'received'."""
    rows = [(store_id, sku, location_id, on_hand, 0) for sku, location_id, on_hand in levels]
    with engine.begin() as conn:
        inserted = insert_rows(conn, "stock_levels", _LEVEL_COLUMNS, rows, "ON CONFLICT (store_id, sku, location_id)"
                               " DO NOTHING RETURNING sku, location_id, on_hand")
        now = conn.execute(text("SELECT now()")).scalar_one()
        insert_rows(conn, "stock_ledger", _LEDGER_COLUMNS, [
            (store_id, sku, location_id, on_hand, 0, "received", "opening-stock", now)
            for sku, location_id, on_hand in inserted if on_hand])


_LEVEL_COLUMNS = (Col("store_id", "bigint"), Col("sku", "text"), Col("location_id", "bigint"),
                  Col("on_hand", "integer"), Col("reserved", "integer"))
_LEDGER_COLUMNS = (Col("store_id", "bigint"), Col("sku", "text"), Col("location_id", "bigint"),
                   Col("delta_on_hand", "integer"), Col("delta_reserved", "integer"), Col("reason", "text"),
                   Col("reference", "text"), Col("at", "timestamptz"))


def reset_store(engine: Engine, store_id: int) -> None:
    """Delete every record of one store (the demo starts fresh); other stores are untouched."""
    with engine.begin() as conn:
        for table in ("support_messages", "support_conversations", "plan_lines", "purchase_orders", "supplier_items",
                      "suppliers",
                      "events", "decisions", "review_items", "effects", "inbox", "shipments", "reservations",
                      "order_refunds", "checkouts", "order_lines", "orders", "customers", "stock_ledger",
                      "stock_levels", "platform_stock", "platform_items", "variants", "products", "locations",
                      "automation_modes", "connections", "alert_state"):
            conn.execute(text(f"DELETE FROM {table} WHERE store_id = :s"), {"s": store_id})
