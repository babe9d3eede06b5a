"""Commands of the orders context: one handler each, failure propagates to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from backroom.customers.model import MarketingConsent
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.model import Address, OrderLine, PaymentState
from backroom.orders.payments import Refund
from backroom.shared.messages import Command


@dataclass(frozen=True)
class IncomingOrder:
    channel: str
    external_id: str
    number: str
    email: str
    customer_name: str
    currency: str
    payment_state: PaymentState
    shipping_address: Address
    billing_address: Address | None
    lines: tuple[OrderLine, ...]
    placed_at: datetime
    source_ref: str = ""
    checkout_token: str = ""  # the platform checkout the order completes (Shopify's checkout_token), if it says


@dataclass(frozen=True)
class ImportOrders(Command):
    orders: tuple[IncomingOrder, ...]


@dataclass(frozen=True)
class CancelOrder(Command):
    order_id: int
    reason: str = "customer request"
    actor: str = "system"


@dataclass(frozen=True)
class RecordShipment(Command):
    order_id: int
    carrier: str
    tracking_number: str
    tracking_url: str = ""


@dataclass(frozen=True)
class CancelOrderByReference(Command):
    """A cancellation that names the order as the store does (a platform webhook): a no-op for an unknown order."""

    channel: str
    external_id: str
    reason: str
    actor: str


@dataclass(frozen=True)
class RecordShipmentByReference(Command):
    """A shipment recorded on the platform (the store fulfilled it there): a no-op for an unknown order."""

    channel: str
    external_id: str
    carrier: str
    tracking_number: str
    tracking_url: str = ""


@dataclass(frozen=True)
class RecordDelivery(Command):
    order_id: int


@dataclass(frozen=True)
class RecordShipments(Command):
    """A warehouse's confirmation file (or a day's carrier scans): many shipments in one transaction, each applied
    or refused on its own (see BatchOutcome)."""

    shipments: tuple[RecordShipment, ...]


@dataclass(frozen=True)
class RecordDeliveries(Command):
    order_ids: tuple[int, ...]


@dataclass(frozen=True)
class ReceiveStock(Command):
    sku: str
    location_code: str
    quantity: int
    reference: str


@dataclass(frozen=True)
class ReceiveReturn(Command):
    """A customer's return arrived: the authorisation is marked received and, with ``restock``, its items go back
    into stock at ``location_code`` (serving backorders first)."""

    number: str
    location_code: str
    restock: bool = True
    actor: str = "cli"


@dataclass(frozen=True)
class CountStock(Command):
    """A stock count: the location now holds ``on_hand`` units; the difference is booked under the row lock (a count
    below what is reserved for orders is refused)."""

    sku: str
    location_code: str
    on_hand: int
    reference: str


@dataclass(frozen=True)
class ReceiveDelivery(Command):
    """A delivery (a purchase order, a day's returns, a stock count's corrections) at one location: each line's
    quantity is added (negative: written off); lines that cannot apply are refused on their own."""

    location_code: str
    reference: str
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SetRestockEta(Command):
    sku: str
    eta: date


@dataclass(frozen=True)
class ResolveReviewItem(Command):
    item_id: int
    action: str
    actor: str
    note: str = ""
    address: Address | None = None



# -- what a connected store's platform reports besides new orders ------------------------------------------------


@dataclass(frozen=True)
class RecordPayment(Command):
    """The platform's word on an order's payment (Shopify ``orders/paid``/``orders/updated``, a WooCommerce status):
    a known order records its new payment state (secured: a payment hold is released; failed: held for review;
    refunded: an unshipped order is cancelled); an order the platform never sent at creation is imported."""

    order: IncomingOrder


@dataclass(frozen=True)
class RecordRefunds(Command):
    """Refunds made on the platform, kept with the order once per platform refund id. ``whole_order``: the platform
    says the order is fully refunded (WooCommerce status ``refunded``) whatever the refunds listed."""

    channel: str
    external_id: str
    refunds: tuple[Refund, ...]
    whole_order: bool = False


@dataclass(frozen=True)
class RecordCheckout(Command):
    """A checkout started (or changed, or completed) on the platform: kept per store for the abandoned-cart flows."""

    channel: str
    external_id: str
    token: str
    email: str
    customer_name: str
    currency: str
    total: Decimal
    lines: tuple[CheckoutLine, ...]
    recovery_url: str
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    #: SUBSCRIBED: the buyer opted in to marketing mail at checkout (anything else records nothing)
    marketing_consent: MarketingConsent = MarketingConsent.UNKNOWN


@dataclass(frozen=True)
class DeleteCheckout(Command):
    channel: str
    external_id: str


@dataclass(frozen=True)
class RecordCustomer(Command):
    """A customer created or updated on the platform; ``updated_at`` orders the updates (older ones are dropped)."""

    channel: str
    external_id: str
    email: str
    name: str
    marketing_consent: MarketingConsent
    updated_at: datetime | None
    consent_updated_at: datetime | None = None  # when the platform last changed the consent (Shopify says)


@dataclass(frozen=True)
class RecordPlatformItem(Command):
    """Which SKU a platform inventory item is (a platform reports stock levels by item, not by SKU)."""

    channel: str
    item_id: str
    sku: str


@dataclass(frozen=True)
class RecordPlatformStock(Command):
    """A stock level the platform reports for an item at one of its locations (``available`` None: not tracked).
    backroom's ledger stays the stock of record: the report is kept beside it, and a difference is drift."""

    channel: str
    item_id: str
    location_id: str
    available: int | None
    updated_at: datetime | None
