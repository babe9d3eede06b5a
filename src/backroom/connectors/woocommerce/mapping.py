"""WooCommerce order and customer payloads (REST v3 shape, which webhooks deliver) → our commands."""

from __future__ import annotations

import contextlib
import html
from decimal import Decimal, InvalidOperation
from typing import Any

from backroom.connectors.generic import json_object, order_from, platform_id
from backroom.connectors.ignored import Ignored
from backroom.connectors.values import money, optional_timestamp
from backroom.connectors.woocommerce.manifest import classify
from backroom.customers.model import MarketingConsent
from backroom.orders import commands
from backroom.orders.payments import Refund
from backroom.shared.messages import Command

CHANNEL = "woocommerce"

#: order status → payment state of the imported order
PAYMENT = {"processing": "paid", "completed": "paid", "on-hold": "pending", "pending": "pending",
           "failed": "failed", "cancelled": "voided", "refunded": "refunded"}


def map_webhook(topic: str, body: bytes, source_ref: str = "") -> Command | Ignored:
    subscribed, why = classify(topic)
    if not subscribed:
        return Ignored(topic, why)
    payload = json_object(body)
    if topic in ("customer.created", "customer.updated"):
        return customer_command(payload)
    if topic == "order.updated":
        return _order_update(payload, source_ref)
    return commands.ImportOrders((order_command(payload, source_ref),))


def _order_update(payload: dict[str, Any], source_ref: str) -> Command:
    """An update follows the order's status: cancelled, refunded (in full), completed (shipped); a refund listed
    on an order still in progress is a partial one; otherwise the status says what the payment is."""
    status = str(payload.get("status") or "")
    external_id = platform_id(payload.get("id"), "WooCommerce order id")
    if status == "cancelled":
        return commands.CancelOrderByReference(CHANNEL, external_id, "cancelled in WooCommerce", "woocommerce")
    if status == "refunded":
        return commands.RecordRefunds(CHANNEL, external_id, refunds(payload), whole_order=True)
    if status == "completed":
        return commands.RecordShipmentByReference(CHANNEL, external_id, "", "")
    if payload.get("refunds"):
        return commands.RecordRefunds(CHANNEL, external_id, refunds(payload))
    return commands.RecordPayment(order_command(payload, source_ref))


def refunds(payload: dict[str, Any]) -> tuple[Refund, ...]:
    """An order's ``refunds`` (id, reason, a negative total); WooCommerce lists no lines with them."""
    currency = str(payload.get("currency") or "")
    return tuple(Refund(platform_id(r.get("id"), "WooCommerce refund id"),
                        abs(money(r.get("total"), "WooCommerce refund total")), currency, str(r.get("reason") or ""))
                 for r in payload.get("refunds") or [] if isinstance(r, dict))


def customer_command(payload: dict[str, Any]) -> commands.RecordCustomer:
    """WooCommerce core keeps no marketing consent: it is unknown (never consent)."""
    billing = payload.get("billing") or {}
    name = (" ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
            or " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p))
    return commands.RecordCustomer(
        CHANNEL, platform_id(payload.get("id"), "WooCommerce customer id"),
        str(payload.get("email") or billing.get("email") or "").lower(), name, MarketingConsent.UNKNOWN,
        optional_timestamp(payload.get("date_modified_gmt"), "WooCommerce date_modified_gmt", naive_is_utc=True))


def order_command(payload: dict[str, Any], source_ref: str = "") -> commands.IncomingOrder:
    billing = payload.get("billing") or {}
    shipping = payload.get("shipping") or {}
    if not shipping.get("country"):
        shipping = billing  # a store that ships to the billing address leaves shipping empty
    placed = payload.get("date_created_gmt") or payload.get("date_created")
    generic = {
        "id": platform_id(payload.get("id"), "WooCommerce order id"),
        "number": f"#{payload.get('number') or payload.get('id')}",
        "email": billing.get("email") or "",
        "customer_name": " ".join(p for p in (shipping.get("first_name"), shipping.get("last_name")) if p),
        "currency": payload.get("currency") or "",
        "payment_state": PAYMENT.get(str(payload.get("status")), "pending"),
        "shipping_address": _address(shipping) if shipping else None,
        "billing_address": _address(billing) if billing.get("country") else None,
        "lines": [_line(item) for item in payload.get("line_items") or []],
        # WooCommerce's *_gmt dates carry no offset: they are UTC
        "placed_at": f"{placed}+00:00" if isinstance(placed, str) and "+" not in placed and "Z" not in placed
        else placed,
    }
    return order_from(generic, CHANNEL, source_ref, f"WooCommerce order {generic['number']}")


def _address(a: dict[str, Any]) -> dict[str, str]:
    return {
        "name": " ".join(p for p in (a.get("first_name"), a.get("last_name")) if p),
        "line1": str(a.get("address_1") or ""), "line2": str(a.get("address_2") or ""),
        "city": str(a.get("city") or ""), "postal_code": str(a.get("postcode") or ""),
        "area": str(a.get("state") or ""), "country": str(a.get("country") or ""), "phone": str(a.get("phone") or ""),
    }


def _line(item: dict[str, Any]) -> dict[str, Any]:
    """A line without a SKU is named by its product/variation, so it is held as an unknown SKU, not dropped."""
    product = item.get("variation_id") or item.get("product_id") or item.get("id")
    sku = item.get("sku") or f"woocommerce-product-{product}"
    price: Any = item.get("price")
    with contextlib.suppress(InvalidOperation):  # else left as sent: the order model says what is wrong with it
        price = Decimal(str(price)).quantize(Decimal("0.01"))  # a JSON number (3, 12.5): exact to the cent
    return {"sku": str(sku), "quantity": item.get("quantity"), "unit_price": price,
            "title": html.unescape(str(item.get("name") or ""))}

