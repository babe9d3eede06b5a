"""backroom's own order format, accepted on the signed inbound endpoint and from `backroom import`.

Documented in docs/connectors.md. Anything that fails validation is rejected with every problem listed, and the
raw body is kept in the inbox for inspection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backroom.errors import InvalidInput
from backroom.orders.commands import IncomingOrder
from backroom.orders.model import Address, OrderLine, PaymentState

#: lines in one order: wholesale orders run to hundreds (the UCI retailer's largest has 1,114 product lines)
MAX_LINES = 5000


class StrictModel(BaseModel):
    """An input model: unknown fields ignored, strings stripped (the order and checkout formats)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class AddressIn(StrictModel):
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    area: str = ""
    country: Annotated[str, Field(min_length=2, max_length=2)]
    phone: str = ""

    def to_domain(self) -> Address:
        return Address(self.name, self.line1, self.city, self.postal_code, self.country.upper(), self.line2,
                       self.area, self.phone)


class LineIn(StrictModel):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
    title: str = ""


class OrderIn(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    number: str | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
    customer_name: str = ""
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    payment_state: PaymentState
    shipping_address: AddressIn
    billing_address: AddressIn | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
    placed_at: datetime

    @field_validator("placed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("placed_at needs a timezone (e.g. 2026-11-27T10:00:00Z)")
        return value

    def to_command(self, channel: str, source_ref: str) -> IncomingOrder:
        return IncomingOrder(
            channel=channel,
            external_id=self.id,
            number=self.number or self.id,
            email=self.email,
            customer_name=self.customer_name or self.shipping_address.name,
            currency=self.currency.upper(),
            payment_state=self.payment_state,
            shipping_address=self.shipping_address.to_domain(),
            billing_address=self.billing_address.to_domain() if self.billing_address else None,
            lines=tuple(OrderLine(ln.sku, ln.quantity, ln.unit_price, ln.title) for ln in self.lines),
            placed_at=self.placed_at,
            source_ref=source_ref,
        )


def json_object(body: bytes | str) -> dict[str, Any]:
    """A request body that must be one JSON object (integers exact, as Python parses them)."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise InvalidInput(f"body is not JSON: {err}", code="malformed_json") from err
    if not isinstance(data, dict):
        raise InvalidInput("body is not a JSON object", code="malformed_json")
    return data


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by its lower-case name, whatever case the sender used."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def platform_id(value: Any, what: str) -> str:
    """A platform's numeric id as exact digits (JSON integers parse exactly; never through a float)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidInput(f"payload has no usable {what}", code="invalid_payload")
    return str(value)


def order_from(data: Any, channel: str, source_ref: str, label: str = "invalid order") -> IncomingOrder:
    """An order in the generic shape, validated; ``label`` starts the error (``Shopify order #1001``)."""
    try:
        return OrderIn.model_validate(data).to_command(channel, source_ref)
    except ValidationError as err:
        raise InvalidInput(f"{label}: {problems(err)}", code="invalid_order") from err


def problems(err: ValidationError) -> str:
    """Every problem, each at its field (``lines.0.quantity: Input should be greater than 0``)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                     for e in err.errors(include_url=False))


def parse_order(body: bytes | str, channel: str = "api", source_ref: str = "") -> IncomingOrder:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise InvalidInput(f"body is not JSON: {err}", code="malformed_json") from err
    return order_from(data, channel, source_ref)
