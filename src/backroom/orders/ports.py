"""What the order pipeline needs from storage. The SQL adapter implements these; rows are locked in one
global order (stock rows by primary key, then orders) so concurrent pipelines cannot deadlock on stock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from backroom.customers.model import CustomerProfile
from backroom.inventory.model import StockPool
from backroom.inventory.platform import PlatformLevel
from backroom.orders.checkouts import Checkout, CheckoutClaim
from backroom.orders.model import CustomerStats, Order
from backroom.orders.payments import Refund
from backroom.replenishment.ports import PurchasingUnitOfWork
from backroom.review.model import ReviewItem

if TYPE_CHECKING:  # aftercare's handlers take this unit of work: the model is imported for annotations only
    from backroom.orders.aftercare import ReturnRequest


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


class CheckoutRepository(Protocol):
    def get(self, channel: str, external_id: str) -> Checkout | None:
        """Load and lock a checkout of this store."""
    def add(self, checkout: Checkout) -> bool:
        """Insert a new checkout (setting its id); False when another transaction added it first."""
    def save(self, checkout: Checkout) -> None: ...
    def complete(self, claims: Sequence[CheckoutClaim], at: datetime) -> list[Checkout]:
        """Link each claimed checkout (not deleted, not linked yet) to its order, completing it at ``at`` if the
        platform had not; returns those that were open until now."""


class ReturnRepository(Protocol):
    def of_order(self, order_id: int) -> list[ReturnRequest]:
        """The order's return authorisations, oldest first."""
    def add(self, request: ReturnRequest) -> None: ...
    def get(self, number: str) -> ReturnRequest:
        """Load and lock a return by its number; raises NotFound outside this store."""
    def save(self, request: ReturnRequest) -> None: ...


class OrdersUnitOfWork(PurchasingUnitOfWork, Protocol):
    orders: OrderRepository
    stock: StockRepository
    catalog: CatalogRepository
    customers: CustomerRepository
    reviews: ReviewRepository
    effects: EffectAdmin
    checkouts: CheckoutRepository
    returns: ReturnRepository


# -- what the platforms report besides orders (orders/platform_handlers.py) --------------------------------------


class PaymentRepository(Protocol):
    def recorded_refunds(self, channel: str, refund_ids: Collection[str]) -> set[str]:
        """The platform refund ids of this store already recorded."""
    def add_refund(self, order: Order, refund: Refund) -> None: ...
    def refunds_of(self, order: Order) -> list[Refund]: ...


class CustomerProfileRepository(Protocol):
    def find(self, channel: str, external_id: str, email: str) -> CustomerProfile | None:
        """Load and lock the customer the platform names (by its id, else by email)."""
    def email_owner(self, email: str) -> int | None:
        """The id of the customer with this email, if any."""
    def add(self, profile: CustomerProfile) -> bool:
        """Insert (setting its id); False when a customer with this email was added first."""
    def save(self, profile: CustomerProfile) -> None: ...


class PlatformStockRepository(Protocol):
    def item_sku(self, channel: str, item_id: str) -> str | None: ...
    def map_item(self, channel: str, item_id: str, sku: str) -> None:
        """Record which SKU an item is (and name it on the levels already reported for it)."""
    def level(self, channel: str, item_id: str, location_id: str) -> PlatformLevel | None:
        """Load and lock the last report for an item at a platform location."""
    def add(self, level: PlatformLevel) -> bool:
        """Insert a first report; False when another transaction added it first."""
    def save(self, level: PlatformLevel) -> None: ...
    def platform_available(self, channel: str, sku: str) -> int:
        """The SKU's available units over every platform location, as last reported."""
    def backroom_stock(self, sku: str) -> tuple[int, int]:
        """backroom's (available, on hand) of the SKU over every location, read without locking."""


class PlatformUnitOfWork(OrdersUnitOfWork, Protocol):
    payments: PaymentRepository
    customer_profiles: CustomerProfileRepository
    platform_stock: PlatformStockRepository
