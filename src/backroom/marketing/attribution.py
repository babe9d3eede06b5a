"""Which flow an order is credited to: the last flow email the customer got before ordering, within the window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DEFAULT_WINDOW = timedelta(days=5)


@dataclass(frozen=True)
class Touch:
    """A flow email that went out."""

    flow: str
    enrollment_id: str
    message_key: str
    customer_id: str
    sent_at: datetime


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    customer_id: str
    placed_at: datetime
    total: Decimal
    currency: str


@dataclass(frozen=True)
class Conversion:
    order: PlacedOrder
    touch: Touch

    @property
    def flow(self) -> str:
        return self.touch.flow


def attribute(order: PlacedOrder, touches: Iterable[Touch], window: timedelta = DEFAULT_WINDOW) -> Conversion | None:
    """Last touch: the latest of the customer's flow emails sent at most ``window`` before the order."""
    eligible = [t for t in touches
                if t.customer_id == order.customer_id and t.sent_at <= order.placed_at <= t.sent_at + window]
    if not eligible:
        return None
    return Conversion(order, max(eligible, key=lambda t: (t.sent_at, t.message_key)))
