"""Checkouts buyers started on the store's platform (abandoned carts until an order completes them): the record the
marketing flows enroll from, the events it raises, and how an arriving order completes its checkout."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backroom.orders.model import Order
from backroom.service_layer.messages import RecordedEvent

if TYPE_CHECKING:
    from backroom.orders.commands import IncomingOrder
    from backroom.orders.ports import OrdersUnitOfWork


@dataclass(frozen=True)
class CheckoutLine:
    sku: str
    quantity: int
    unit_price: Decimal
    title: str = ""


#: the fields the platform reports (RecordCheckout's, besides which checkout): a newer version replaces them all
REPORTED = ("token", "email", "customer_name", "currency", "total", "lines", "recovery_url", "started_at",
            "updated_at", "completed_at")


@dataclass
class Checkout:
    store_id: int
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
    updated_at: datetime  # the platform's last change
    completed_at: datetime | None = None
    order_id: int | None = None
    deleted_at: datetime | None = None
    id: int | None = None

    @property
    def content(self) -> tuple[Any, ...]:
        """What the platform says of the checkout (not what backroom learnt: its order, its deletion)."""
        return tuple(getattr(self, name) for name in REPORTED)

    def take(self, newer: Checkout) -> None:
        """A later version from the platform; once completed a checkout stays completed."""
        completed_at = self.completed_at or newer.completed_at
        for name in REPORTED:
            setattr(self, name, getattr(newer, name))
        self.completed_at = completed_at


@dataclass(frozen=True)
class CheckoutClaim:
    """An order that just arrived and how it names its checkout: by token, else (no token) by its buyer's email."""

    channel: str
    token: str
    email: str
    order_id: int
    placed_at: datetime


def checkout_event(name: str, checkout: Checkout) -> RecordedEvent:
    """``checkout_created`` / ``checkout_updated`` / ``checkout_completed``, carrying what rules see as ``checkout``."""
    return RecordedEvent(name, "checkout", checkout.id, {
        "channel": checkout.channel,
        "email": checkout.email,
        "currency": checkout.currency,
        "total": str(checkout.total),
        "item_count": sum(line.quantity for line in checkout.lines),
        "line_count": len(checkout.lines),
        "skus": sorted({line.sku for line in checkout.lines}),
        "recovery_url": checkout.recovery_url,
        "completed": checkout.completed_at is not None,
        "order_id": checkout.order_id,
    })


def complete_checkouts(uow: OrdersUnitOfWork, arrived: Iterable[tuple[Order, IncomingOrder]]) -> None:
    """Orders imported in this transaction complete the checkouts they came from (``checkout_completed``)."""
    claims = [CheckoutClaim(order.channel, incoming.checkout_token, order.email, order.id, order.placed_at)
              for order, incoming in arrived if order.id is not None]
    for checkout in uow.checkouts.complete(claims, uow.clock.now()):
        uow.record_event(checkout_event("checkout_completed", checkout))
