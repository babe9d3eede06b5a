"""Orders for unit tests: a valid paid order to a valid UK address; tests override only what they are about."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from backroom.orders.model import Address, Order, OrderLine, PaymentState

ADDRESS = Address(name="Ada Lovelace", line1="10 Downing St", city="London", postal_code="SW1A 1AA", country="GB")


def make_order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "store_id": 1,
        "channel": "api",
        "external_id": "ext-1",
        "number": "1001",
        "email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "currency": "GBP",
        "payment_state": PaymentState.PAID,
        "shipping_address": ADDRESS,
        "billing_address": None,
        "lines": (OrderLine("MUG", 2, Decimal("12.50")),),
        "placed_at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return Order(**fields)
