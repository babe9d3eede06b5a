"""backroom's own checkout format (abandoned carts), accepted on the signed ``POST /inbound/checkouts``.

For stores whose platform sends no checkout webhook (WooCommerce, custom storefronts): a few lines on the storefront
post each cart here, and it becomes the same ``RecordCheckout`` / ``DeleteCheckout`` a Shopify ``checkouts/*``
webhook becomes. Documented, with a WooCommerce snippet, in docs/connectors.md ("The signed inbound checkout
endpoint"). Anything that fails validation is rejected with every problem listed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from backroom.connectors.generic import StrictModel, json_object, problems
from backroom.customers.model import MarketingConsent
from backroom.errors import InvalidInput
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.commands import DeleteCheckout, RecordCheckout

SOURCE = "inbound-checkout"  # the inbox source of checkouts posted to /inbound/checkouts
KIND = "checkout"
#: lines in one cart (a cart is smaller than a wholesale order)
MAX_LINES = 500
#: the channel whose orders complete the checkout: ``inbound`` (orders posted to /inbound/orders), ``woocommerce``
Channel = Literal["inbound", "woocommerce"]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class CheckoutLineIn(StrictModel):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    unit_price: Money
    title: Annotated[str, Field(max_length=500)] = ""


class CheckoutDeletionIn(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    channel: Channel = "inbound"
    deleted: Literal[True]


class CheckoutIn(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    channel: Channel = "inbound"
    email: Annotated[str, Field(pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$", max_length=320)] = ""
    customer_name: Annotated[str, Field(max_length=200)] = ""
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    lines: Annotated[list[CheckoutLineIn], Field(max_length=MAX_LINES)]
    total: Money | None = None
    recovery_url: Annotated[str, Field(min_length=1, max_length=2000)]
    started_at: datetime | None = None
    updated_at: datetime
    completed_at: datetime | None = None
    order_id: Annotated[str, Field(max_length=200)] = ""
    accepts_marketing: bool | None = None  # true: the buyer ticked the store's marketing box (an opt-in)
    deleted: Literal[False] = False

    @field_validator("recovery_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("started_at", "updated_at", "completed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """UTC inside: a time without an offset is refused, not guessed."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("needs a timezone (e.g. 2026-11-27T10:00:00Z)")
        return value.astimezone(UTC)

    def to_command(self) -> RecordCheckout:
        lines = tuple(CheckoutLine(ln.sku, ln.quantity, ln.unit_price, ln.title) for ln in self.lines)
        total = self.total if self.total is not None else sum(
            (ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
        completed_at = self.completed_at or (self.updated_at if self.order_id else None)
        return RecordCheckout(
            channel=self.channel, external_id=self.id, token="", email=self.email.lower(),
            customer_name=self.customer_name, currency=self.currency.upper(), total=total, lines=lines,
            recovery_url=self.recovery_url, started_at=self.started_at or self.updated_at,
            updated_at=self.updated_at, completed_at=completed_at,
            marketing_consent=MarketingConsent.SUBSCRIBED if self.accepts_marketing else MarketingConsent.UNKNOWN)


def checkout_from(data: Any) -> RecordCheckout | DeleteCheckout:
    """A checkout in backroom's format, validated: ``"deleted": true`` needs only its id (and channel)."""
    deletion = isinstance(data, dict) and data.get("deleted") is True
    try:
        if deletion:
            gone = CheckoutDeletionIn.model_validate(data)
            return DeleteCheckout(gone.channel, gone.id)
        return CheckoutIn.model_validate(data).to_command()
    except ValidationError as err:
        raise InvalidInput(f"invalid checkout: {problems(err)}", code="invalid_checkout") from err


def map_checkout(_topic: str, body: bytes, _source_ref: str) -> RecordCheckout | DeleteCheckout:
    """The inbox's mapper for ``inbound-checkout`` inputs (the endpoint, and a replay of what it kept)."""
    return checkout_from(json_object(body))
