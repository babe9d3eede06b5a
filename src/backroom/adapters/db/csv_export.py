"""Reads behind CSV export (streamed through a server-side cursor, so a store of any size exports in constant
memory) and the few lookups CSV import makes before it writes (which locations, SKUs and stock rows exist)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import Engine, TextClause, text

from backroom.orders.commands import IncomingOrder
from backroom.orders.model import Address, OrderLine, PaymentState

BATCH = 1000  # rows per fetch from the server-side cursor


@dataclass(frozen=True)
class OrderRecord:
    order: IncomingOrder  # as it was imported (channel, external id, lines …)
    id: int
    status: str
    carriers: str  # of its shipments, oldest first, '; '-separated
    tracking_numbers: str


@dataclass(frozen=True)
class VariantRecord:
    handle: str
    product_title: str
    sku: str
    title: str
    price: Decimal
    low_stock_threshold: int | None


@dataclass(frozen=True)
class StockRecord:
    sku: str
    location: str
    location_name: str
    location_priority: int
    on_hand: int
    reserved: int


_ORDERS = text(
    "SELECT o.id, o.status, o.channel, o.external_id, o.number, o.email, o.customer_name, o.currency,"
    " o.payment_state, o.placed_at, o.shipping_address, o.billing_address,"
    " l.sku, l.quantity, l.unit_price, l.title, coalesce(s.carriers, '') AS carriers,"
    " coalesce(s.tracking_numbers, '') AS tracking_numbers"
    " FROM orders o"
    " LEFT JOIN LATERAL (SELECT string_agg(carrier, '; ' ORDER BY id) AS carriers,"
    "   string_agg(tracking_number, '; ' ORDER BY id) AS tracking_numbers"
    "   FROM shipments WHERE order_id = o.id) s ON true"
    " JOIN order_lines l ON l.order_id = o.id"
    " WHERE o.store_id = :s AND o.placed_at >= CAST(:since AS timestamptz)"
    " ORDER BY o.id, l.line_no"
)
_VARIANTS = text(
    "SELECT p.handle, p.title AS product_title, v.sku, v.title, v.price, v.low_stock_threshold"
    " FROM variants v JOIN products p ON p.id = v.product_id WHERE v.store_id = :s ORDER BY p.handle, v.id"
)
_STOCK = (
    "SELECT s.sku, l.code AS location, l.name AS location_name, l.priority AS location_priority, s.on_hand,"
    " s.reserved FROM stock_levels s JOIN locations l ON l.id = s.location_id WHERE s.store_id = :s"
)


def orders(engine: Engine, store_id: int, since: datetime | None = None) -> Iterator[OrderRecord]:
    """A store's orders placed at or after ``since``, by id, one at a time with its lines."""
    params = {"s": store_id, "since": since or "-infinity"}
    for _, rows in groupby(_stream(engine, _ORDERS, params), key=lambda r: r.id):
        yield _order_record(list(rows))


def variants(engine: Engine, store_id: int) -> Iterator[VariantRecord]:
    """Every variant with its product, by product handle."""
    for r in _stream(engine, _VARIANTS, {"s": store_id}):
        yield VariantRecord(r.handle, r.product_title, r.sku, r.title, r.price, r.low_stock_threshold)


def stock(engine: Engine, store_id: int) -> Iterator[StockRecord]:
    """Every stock row, by SKU then location priority."""
    query = text(_STOCK + " ORDER BY s.sku, l.priority, l.code")
    for r in _stream(engine, query, {"s": store_id}):
        yield _stock_record(r)


def location_ids(engine: Engine, store_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, id FROM locations WHERE store_id = :s"), {"s": store_id})
        return {r.code: r.id for r in rows}


def product_of(engine: Engine, store_id: int, skus: Collection[str]) -> dict[str, str]:
    """The handle of the product each of these SKUs already belongs to (SKUs the store does not know: absent)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT v.sku, p.handle FROM variants v JOIN products p ON p.id = v.product_id"
            " WHERE v.store_id = :s AND v.sku = ANY(CAST(:skus AS text[]))"), {"s": store_id, "skus": list(skus)})
        return {r.sku: r.handle for r in rows}


def stock_of(engine: Engine, store_id: int, skus: Collection[str]) -> dict[tuple[str, str], StockRecord]:
    """The stock rows of these SKUs, by (SKU, location code)."""
    with engine.connect() as conn:
        rows = conn.execute(text(_STOCK + " AND s.sku = ANY(CAST(:skus AS text[]))"),
                            {"s": store_id, "skus": list(skus)})
        return {(r.sku, r.location): _stock_record(r) for r in rows}


def _stream(engine: Engine, query: TextClause, params: dict[str, Any]) -> Iterator[Any]:
    with engine.connect() as conn:
        yield from conn.execution_options(yield_per=BATCH).execute(query, params)


def _order_record(rows: list[Any]) -> OrderRecord:
    r = rows[0]
    order = IncomingOrder(
        channel=r.channel, external_id=r.external_id, number=r.number, email=r.email,
        customer_name=r.customer_name, currency=r.currency, payment_state=PaymentState(r.payment_state),
        shipping_address=Address.from_dict(r.shipping_address),
        billing_address=Address.from_dict(r.billing_address) if r.billing_address else None,
        lines=tuple(OrderLine(x.sku, x.quantity, x.unit_price, x.title) for x in rows), placed_at=r.placed_at,
    )
    return OrderRecord(order, r.id, r.status, r.carriers, r.tracking_numbers)


def _stock_record(r: Any) -> StockRecord:
    return StockRecord(r.sku, r.location, r.location_name, r.location_priority, r.on_hand, r.reserved)
