"""Shopify payloads → our commands.

Ids: Shopify's are 64-bit and exceed 2^53, so a JavaScript float round-trip rounds them (the documented samples
show ``"id": 820982911946154500`` beside ``gid://shopify/Order/820982911946154508``). Python parses JSON integers
exactly; where a payload carries both, the number in ``admin_graphql_api_id`` is the one trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backroom.connectors.generic import json_object, order_from, platform_id
from backroom.connectors.ignored import Ignored
from backroom.connectors.shopify.manifest import classify
from backroom.orders import commands
from backroom.shared.messages import Command

CHANNEL = "shopify"

FINANCIAL_STATUS = {
    "paid": "paid", "partially_refunded": "paid", "authorized": "authorized", "pending": "pending",
    "partially_paid": "pending", "expired": "failed", "refunded": "refunded", "voided": "voided",
}


def map_webhook(topic: str, body: bytes, source_ref: str = "") -> Command | Ignored:
    subscribed, why = classify(topic)
    if not subscribed:
        return Ignored(topic, why)
    payload = json_object(body)
    if topic in ("orders/create", "orders/updated", "orders/paid"):
        return commands.ImportOrders((order_command(payload, source_ref),))
    if topic == "orders/cancelled":
        return commands.CancelOrderByReference(CHANNEL, order_id(payload), str(payload.get("cancel_reason") or
                                                                                "cancelled in Shopify"), "shopify")
    if topic == "fulfillments/create":
        return commands.RecordShipmentByReference(
            CHANNEL, platform_id(payload.get("order_id"), "Shopify order_id"),
            str(payload.get("tracking_company") or ""), str(payload.get("tracking_number") or ""),
            str(payload.get("tracking_url") or ""))
    raise AssertionError(f"subscribed topic {topic} has no mapping")  # manifest and mapping disagree


def order_id(payload: dict[str, Any]) -> str:
    gid = payload.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.rsplit("/", 1)[-1].isdigit():
        return gid.rsplit("/", 1)[-1]
    return platform_id(payload.get("id"), "Shopify order id")


def order_command(payload: dict[str, Any], source_ref: str = "") -> commands.IncomingOrder:
    """A Shopify order in our generic shape, validated by the same model as every other order input."""
    customer = payload.get("customer") or {}
    shipping = payload.get("shipping_address") or payload.get("billing_address")
    billing = payload.get("billing_address")
    email = payload.get("email") or payload.get("contact_email") or customer.get("email") or ""
    generic = {
        "id": order_id(payload),
        "number": str(payload.get("name") or payload.get("order_number") or ""),
        "email": email,
        "customer_name": (shipping or {}).get("name") or " ".join(
            p for p in (customer.get("first_name"), customer.get("last_name")) if p),
        "currency": payload.get("currency") or "",
        "payment_state": FINANCIAL_STATUS.get(str(payload.get("financial_status")), "pending"),
        "shipping_address": _address(shipping) if shipping else None,
        "billing_address": _address(billing) if billing else None,
        "lines": [_line(item) for item in payload.get("line_items") or [] if item.get("requires_shipping", True)],
        "placed_at": payload.get("created_at"),
    }
    return order_from(generic, CHANNEL, source_ref, f"Shopify order {generic['number'] or generic['id']}")


def _address(a: dict[str, Any]) -> dict[str, str]:
    return {
        "name": str(a.get("name") or " ".join(p for p in (a.get("first_name"), a.get("last_name")) if p)),
        "line1": str(a.get("address1") or ""), "line2": str(a.get("address2") or ""), "city": str(a.get("city") or ""),
        "postal_code": str(a.get("zip") or ""), "area": str(a.get("province_code") or ""),
        "country": str(a.get("country_code") or ""), "phone": str(a.get("phone") or ""),
    }


def _line(item: dict[str, Any]) -> dict[str, Any]:
    """A line without a SKU is named by its variant, so it is held as an unknown SKU rather than dropped."""
    sku = item.get("sku") or f"shopify-variant-{item.get('variant_id') or item.get('id')}"
    title = " — ".join(p for p in (item.get("title"), item.get("variant_title")) if p)
    return {"sku": str(sku), "quantity": item.get("quantity"), "unit_price": item.get("price"), "title": title}



# --- the same orders read back through the GraphQL Admin API (reconciliation polls) -----------------------------

@dataclass(frozen=True)
class ShipmentSeen:
    carrier: str
    tracking_number: str
    tracking_url: str


@dataclass(frozen=True)
class OrderStatusSeen:
    """What a reconciler needs beyond the order itself: is it cancelled, and what has shipped with which tracking."""

    external_id: str
    cancelled: bool
    cancel_reason: str
    shipments: tuple[ShipmentSeen, ...]


def order_from_graphql(node: dict[str, Any], source_ref: str = "") -> commands.IncomingOrder:
    """A GraphQL ``Order`` node (as ShopifyClient.orders_updated_since returns it) in our generic shape: the same
    order as ``order_command`` gives for the order's webhook."""
    customer = node.get("customer") or {}
    shipping = node.get("shippingAddress") or node.get("billingAddress")
    billing = node.get("billingAddress")
    generic = {
        "id": _gid_number(node.get("id"), "Shopify order id"),
        "number": str(node.get("name") or ""),
        "email": node.get("email") or customer.get("email") or "",
        "customer_name": (shipping or {}).get("name") or " ".join(
            p for p in (customer.get("firstName"), customer.get("lastName")) if p),
        "currency": node.get("currencyCode") or "",
        "payment_state": FINANCIAL_STATUS.get(str(node.get("displayFinancialStatus") or "").lower(), "pending"),
        "shipping_address": _graphql_address(shipping) if shipping else None,
        "billing_address": _graphql_address(billing) if billing else None,
        "lines": [_graphql_line(item) for item in _nodes(node.get("lineItems")) if item.get("requiresShipping", True)],
        "placed_at": node.get("createdAt"),
    }
    return order_from(generic, CHANNEL, source_ref, f"Shopify order {generic['number'] or generic['id']}")


def status_from_graphql(node: dict[str, Any]) -> OrderStatusSeen:
    """Cancellation and tracked fulfilments of a GraphQL ``Order`` node (one shipment per tracking number)."""
    shipments = tuple(
        ShipmentSeen(str(t.get("company") or ""), str(t.get("number") or ""), str(t.get("url") or ""))
        for fulfillment in node.get("fulfillments") or [] for t in fulfillment.get("trackingInfo") or []
        if t.get("number"))
    return OrderStatusSeen(_gid_number(node.get("id"), "Shopify order id"), bool(node.get("cancelledAt")),
                           str(node.get("cancelReason") or "").lower(), shipments)


def follow_up_commands(node: dict[str, Any]) -> tuple[Command, ...]:
    """The commands the webhooks would have given for a node's cancellation and shipments (reconciliation)."""
    seen = status_from_graphql(node)
    found: list[Command] = [commands.RecordShipmentByReference(CHANNEL, seen.external_id, s.carrier,
                                                               s.tracking_number, s.tracking_url)
                            for s in seen.shipments]
    if seen.cancelled:
        found.append(commands.CancelOrderByReference(CHANNEL, seen.external_id,
                                                     seen.cancel_reason or "cancelled in Shopify", "shopify"))
    return tuple(found)


def _gid_number(value: Any, what: str) -> str:
    if isinstance(value, str) and value.rsplit("/", 1)[-1].isdigit():
        return value.rsplit("/", 1)[-1]
    return platform_id(value, what)


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """The items of a GraphQL connection, given as ``nodes`` or as ``edges[].node`` (or already a list)."""
    if isinstance(connection, list):
        return [n for n in connection if isinstance(n, dict)]
    if not isinstance(connection, dict):
        return []
    if isinstance(connection.get("nodes"), list):
        return [n for n in connection["nodes"] if isinstance(n, dict)]
    return [e["node"] for e in connection.get("edges") or [] if isinstance(e, dict) and isinstance(e.get("node"), dict)]


def _graphql_address(a: dict[str, Any]) -> dict[str, str]:
    return {
        "name": str(a.get("name") or " ".join(p for p in (a.get("firstName"), a.get("lastName")) if p)),
        "line1": str(a.get("address1") or ""), "line2": str(a.get("address2") or ""), "city": str(a.get("city") or ""),
        "postal_code": str(a.get("zip") or ""), "area": str(a.get("provinceCode") or ""),
        "country": str(a.get("countryCodeV2") or a.get("countryCode") or ""), "phone": str(a.get("phone") or ""),
    }


def _graphql_line(item: dict[str, Any]) -> dict[str, Any]:
    """As ``_line``: a line without a SKU is named by its variant (else by itself)."""
    variant = item.get("variant") or {}
    named_by = variant.get("id") or item.get("id")
    sku = item.get("sku") or f"shopify-variant-{_gid_number(named_by, 'Shopify variant id')}"
    price = ((item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
    title = " — ".join(p for p in (item.get("title"), item.get("variantTitle")) if p)
    return {"sku": str(sku), "quantity": item.get("quantity"), "unit_price": price, "title": title}
