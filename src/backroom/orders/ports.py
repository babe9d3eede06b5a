"""What the order pipeline needs from storage. The SQL adapter implements these; rows are locked in one
global order (stock rows by primary key, then orders) so concurrent pipelines cannot deadlock on stock."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from backroom.inventory.model import StockPool
from backroom.orders.model import CustomerStats, Order
from backroom.review.model import ReviewItem
from backroom.service_layer.unit_of_work import UnitOfWork


class OrderRepository(Protocol):
    def next_ids(self, count: int) -> list[int]: ...
    def next_backorder_seq(self) -> int: ...
    def add(self, order: Order) -> None: ...
    def get(self, order_id: int) -> Order:
        """Load and lock one order; raises NotFound outside this store."""
    def get_many(self, order_ids: Collection[int]) -> list[Order]:
        """Load and lock these orders (those of this store; the others are left out), by id."""
    def existing(self, channel: str, external_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        """external id → (order id, status) of the orders this store already has."""
    def recent_fingerprints(self, fingerprints: Collection[str], since: datetime) -> dict[str, str]: ...
    def backordered(self, skus: Collection[str]) -> list[Order]:
        """Backordered orders waiting for any of these SKUs, oldest first, locked."""
    def record_shipment(self, order: Order, carrier: str, tracking_number: str, tracking_url: str) -> None: ...


class StockRepository(Protocol):
    def lock(self, skus: Collection[str], ensure_location: int | None = None) -> StockPool:
        """Lock the stock rows of these SKUs (by primary key order); optionally create a missing row first."""
    def location_id(self, code: str) -> int: ...


class CatalogRepository(Protocol):
    def known_skus(self, skus: Collection[str]) -> set[str]: ...
    def low_stock_threshold(self, sku: str) -> int | None:
        """The SKU's own low-stock threshold, if it has one."""


class CustomerRepository(Protocol):
    def upsert(self, customers: dict[str, str]) -> dict[str, int]:
        """email → name in, email → customer id out."""
    def stats(self, customer_id: int, before_order_id: int) -> CustomerStats:
        """The customer's orders placed before this one: how many, and what they spent (cancelled excluded)."""
    def counted(self, customer_id: int, order_id: int, total: Decimal) -> None:
        """An order added in this transaction joins the customer's history for their next one."""


class ReviewRepository(Protocol):
    def get(self, item_id: int) -> ReviewItem: ...
    def close(self, item: ReviewItem, status: str, resolution: str, actor: str) -> None: ...


class EffectAdmin(Protocol):
    def retry(self, effect_id: int) -> None:
        """Put a failed effect back on the queue with a fresh attempt budget."""


class OrdersUnitOfWork(UnitOfWork, Protocol):
    orders: OrderRepository
    stock: StockRepository
    catalog: CatalogRepository
    customers: CustomerRepository
    reviews: ReviewRepository
    effects: EffectAdmin
