"""Commands of the orders context: one handler each, failure propagates to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from backroom.orders.model import Address, OrderLine, PaymentState
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

