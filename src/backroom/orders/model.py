"""The order aggregate: lines, addresses, payment state, holds, reservations and its lifecycle.

    received ─┬─> on_hold ──(review clears the hold)──┐
              ├─> backordered ──(stock arrives)───────┤
              └───────────────────────────────────────┴─> fulfillment_requested ─> shipped ─> delivered
    any state before shipped ──> cancelled (releases stock)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backroom.inventory.model import Allocation
from backroom.orders.error_codes import HUMAN_HOLDS, ReasonCode


class PaymentState(StrEnum):
    PAID = "paid"
    AUTHORIZED = "authorized"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"
    VOIDED = "voided"


class OrderStatus(StrEnum):
    ON_HOLD = "on_hold"
    BACKORDERED = "backordered"
    RESERVED = "reserved"
    FULFILLMENT_REQUESTED = "fulfillment_requested"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


TERMINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})
UNFULFILLED = frozenset({OrderStatus.ON_HOLD, OrderStatus.BACKORDERED, OrderStatus.RESERVED})


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    area: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "area": self.area,
            "country": self.country,
            "phone": self.phone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        return cls(**{k: str(data.get(k) or "") for k in _ADDRESS_FIELDS})


_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "area", "country", "phone")


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal
    title: str = ""

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Reservation:
    sku: str
    location_id: int
    quantity: int

    def as_allocation(self) -> Allocation:
        return Allocation(self.sku, self.location_id, self.quantity)


@dataclass
class CustomerStats:
    """A customer's history before a given order: what rules see as ``customer.orders_count`` and
    ``customer.total_spent``."""

    orders_count: int = 0
    total_spent: Decimal = Decimal("0")


@dataclass
class Order:
    store_id: int
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
    status: OrderStatus = OrderStatus.RESERVED
    holds: set[ReasonCode] = field(default_factory=set)
    reservations: list[Reservation] = field(default_factory=list)
    backorder_seq: int | None = None
    customer_id: int | None = None
    id: int | None = None
    tags: tuple[str, ...] = ()
    notes: list[dict[str, str]] = field(default_factory=list)
    priority: int = 0
    dirty: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    @property
    def reference(self) -> str:
        return f"order:{self.id}"

    def needs(self) -> dict[str, int]:
        wanted: dict[str, int] = {}
        for line in self.lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        return wanted

    def shortfall(self) -> dict[str, int]:
        missing = self.needs()
        for r in self.reservations:
            missing[r.sku] -= r.quantity
        return {sku: qty for sku, qty in missing.items() if qty > 0}

    def fingerprint(self) -> str:
        """Same buyer, same items, same destination: the shape of an accidental double order."""
        items = ",".join(f"{sku}x{qty}" for sku, qty in sorted(self.needs().items()))
        addr = self.shipping_address
        raw = f"{self.email.lower()}|{items}|{addr.line1.lower()}|{addr.postal_code.replace(' ', '').lower()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def add_reservations(self, allocations: Iterable[Allocation]) -> None:
        for a in allocations:
            self.reservations.append(Reservation(a.sku, a.location_id, a.quantity))
        self.dirty = True

    def take_reservations(self) -> list[Reservation]:
        taken, self.reservations = self.reservations, []
        self.dirty = True
        return taken

    @property
    def human_holds(self) -> set[ReasonCode]:
        return self.holds & HUMAN_HOLDS

    @property
    def ready_to_fulfil(self) -> bool:
        return self.status in UNFULFILLED and not self.human_holds and not self.shortfall()

    def settle_status(self) -> OrderStatus:
        """Recompute the waiting state from holds and reservations (never moves a fulfilled order back)."""
        if self.status in UNFULFILLED:
            if self.human_holds:
                self.status = OrderStatus.ON_HOLD
            elif self.shortfall():
                self.status = OrderStatus.BACKORDERED
            else:
                self.status = OrderStatus.RESERVED
            self.dirty = True
        return self.status

    def hold(self, reason: ReasonCode) -> None:
        self.holds.add(reason)
        self.dirty = True

    def record_payment(self, state: PaymentState) -> None:
        """The platform's latest word on the payment (orders/platform_handlers.py decides what follows from it)."""
        self.payment_state = state
        self.dirty = True

    def clear_hold(self, reason: ReasonCode) -> None:
        self.holds.discard(reason)
        self.dirty = True

    def add_tags(self, tags: Iterable[str]) -> list[str]:
        """Add the tags it does not have yet; returns those added."""
        added = [t for t in dict.fromkeys(tags) if t not in self.tags]
        if added:
            self.tags = (*self.tags, *added)
            self.dirty = True
        return added

    def add_note(self, text: str, author: str, at: datetime) -> None:
        self.notes.append({"at": at.isoformat(), "by": author, "text": text})
        self.dirty = True

    def set_priority(self, priority: int) -> None:
        self.priority = priority
        self.dirty = True

    def move_to(self, status: OrderStatus) -> None:
        self.status = status
        self.dirty = True

    def with_address(self, address: Address) -> None:
        self.shipping_address = replace(address)
        self.dirty = True
