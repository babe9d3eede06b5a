"""Shopify payloads → our commands.

Ids: Shopify's are 64-bit and exceed 2^53, so a JavaScript float round-trip rounds them (the documented samples
show ``"id": 820982911946154500`` beside ``gid://shopify/Order/820982911946154508``). Python parses JSON integers
exactly; where a payload carries both, the number in ``admin_graphql_api_id`` is the one trusted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from backroom.connectors.generic import json_object, order_from, platform_id
from backroom.connectors.ignored import Ignored
from backroom.connectors.shopify.manifest import classify
from backroom.connectors.values import count, money, optional_count, optional_timestamp, timestamp
from backroom.customers.model import MarketingConsent
from backroom.orders import commands
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.payments import Refund, RefundLine
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
    if topic == "orders/create":
        return commands.ImportOrders((order_command(payload, source_ref),))
    if topic in ("orders/updated", "orders/paid"):
        return commands.RecordPayment(order_command(payload, source_ref))
    if topic == "orders/cancelled":
        return commands.CancelOrderByReference(CHANNEL, order_id(payload), str(payload.get("cancel_reason") or
                                                                                "cancelled in Shopify"), "shopify")
    if topic == "fulfillments/create":
        return commands.RecordShipmentByReference(
            CHANNEL, platform_id(payload.get("order_id"), "Shopify order_id"),
            str(payload.get("tracking_company") or ""), str(payload.get("tracking_number") or ""),
            str(payload.get("tracking_url") or ""))
    return _platform_report(topic, payload)


def _platform_report(topic: str, payload: dict[str, Any]) -> Command:
    """What Shopify reports besides orders: refunds, checkouts, customers, inventory."""
    if topic == "refunds/create":
        return commands.RecordRefunds(CHANNEL, platform_id(payload.get("order_id"), "Shopify order_id"),
                                      (refund(payload),))
    if topic in ("checkouts/create", "checkouts/update"):
        return checkout_command(payload)
    if topic == "checkouts/delete":
        return commands.DeleteCheckout(CHANNEL, _exact_id(payload, "Shopify checkout id"))
    if topic in ("customers/create", "customers/update"):
        return customer_command(payload)
    if topic in ("inventory_items/create", "inventory_items/update"):
        return commands.RecordPlatformItem(CHANNEL, _exact_id(payload, "Shopify inventory item id"),
                                           str(payload.get("sku") or ""))
    if topic == "inventory_levels/update":
        return inventory_level_command(payload)
    raise AssertionError(f"subscribed topic {topic} has no mapping")  # manifest and mapping disagree


def order_id(payload: dict[str, Any]) -> str:
    return _exact_id(payload, "Shopify order id")


def _exact_id(payload: dict[str, Any], what: str) -> str:
    """The payload's own id: the number in ``admin_graphql_api_id`` where it has one, else ``id``."""
    gid = payload.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.rsplit("/", 1)[-1].isdigit():
        return gid.rsplit("/", 1)[-1]
    return platform_id(payload.get("id"), what)


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
    order = order_from(generic, CHANNEL, source_ref, f"Shopify order {generic['number'] or generic['id']}")
    return dataclasses.replace(order, checkout_token=str(payload.get("checkout_token") or ""))


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


# --- refunds, checkouts, customers and inventory ---------------------------------------------------------------

#: Shopify's ``email_marketing_consent.state`` → ours (``redacted``: the customer asked to be forgotten)
CONSENT = {"subscribed": MarketingConsent.SUBSCRIBED, "not_subscribed": MarketingConsent.NOT_SUBSCRIBED,
           "unsubscribed": MarketingConsent.UNSUBSCRIBED, "pending": MarketingConsent.PENDING,
           "redacted": MarketingConsent.UNSUBSCRIBED, "invalid": MarketingConsent.NOT_SUBSCRIBED}


def refund(payload: dict[str, Any]) -> Refund:
    """The amount is what the refund's successful transactions paid back; a refund that lists none (Shopify's
    sample) is worth its lines (subtotal and tax). Lines are named as the order's were (SKU, else the variant)."""
    items = [i for i in payload.get("refund_line_items") or [] if isinstance(i, dict)]
    paid = [t for t in payload.get("transactions") or []
            if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"]
    if paid:
        amount = sum((money(t.get("amount"), "Shopify refund transaction amount") for t in paid), Decimal("0"))
        currency = str(paid[0].get("currency") or "")
    else:
        amount = sum((_shop_money(i, "subtotal") + _shop_money(i, "total_tax") for i in items), Decimal("0"))
        currency = next((str(c) for i in items if (c := _shop_currency(i, "subtotal"))), "")
    return Refund(
        _exact_id(payload, "Shopify refund id"), amount, currency, str(payload.get("note") or ""),
        tuple(_refund_line(i) for i in items),
        optional_timestamp(payload.get("processed_at") or payload.get("created_at"), "Shopify refund processed_at"))


def _refund_line(item: dict[str, Any]) -> RefundLine:
    line = item.get("line_item") or {}
    sku = line.get("sku") or f"shopify-variant-{line.get('variant_id') or line.get('id') or item.get('line_item_id')}"
    restock = str(item.get("restock_type") or "no_restock")
    return RefundLine(str(sku), count(item.get("quantity"), "Shopify refund line quantity"), restock != "no_restock")


def _shop_money(item: dict[str, Any], field: str) -> Decimal:
    """``<field>_set.shop_money.amount`` (the shop's currency, as text), else the bare ``<field>`` number."""
    amount = ((item.get(f"{field}_set") or {}).get("shop_money") or {}).get("amount")
    return money(amount if amount is not None else item.get(field) or 0, f"Shopify refund line {field}")


def _shop_currency(item: dict[str, Any], field: str) -> str:
    return str(((item.get(f"{field}_set") or {}).get("shop_money") or {}).get("currency_code") or "")


def checkout_command(payload: dict[str, Any]) -> commands.RecordCheckout:
    """A checkout as the abandoned-cart flows need it: who (email, name), what (lines, total) and where to send
    them back (``abandoned_checkout_url``). Shopify names it by ``id`` (its delete carries nothing else).
    ``buyer_accepts_marketing: true`` (the buyer ticked the store's marketing box) is an opt-in; false says
    nothing (the box was not shown, or an earlier consent stands)."""
    customer = payload.get("customer") or {}
    address = payload.get("billing_address") or payload.get("shipping_address") or {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p) or address.get("name")
    started = timestamp(payload.get("created_at"), "Shopify checkout created_at")
    return commands.RecordCheckout(
        channel=CHANNEL, external_id=_exact_id(payload, "Shopify checkout id"), token=str(payload.get("token") or ""),
        email=str(payload.get("email") or customer.get("email") or "").lower(), customer_name=str(name or ""),
        currency=str(payload.get("currency") or payload.get("presentment_currency") or ""),
        total=money(payload.get("total_price") or 0, "Shopify checkout total_price"),
        lines=tuple(_checkout_line(i) for i in payload.get("line_items") or [] if isinstance(i, dict)),
        recovery_url=str(payload.get("abandoned_checkout_url") or ""), started_at=started,
        updated_at=optional_timestamp(payload.get("updated_at"), "Shopify checkout updated_at") or started,
        completed_at=optional_timestamp(payload.get("completed_at"), "Shopify checkout completed_at"),
        marketing_consent=(MarketingConsent.SUBSCRIBED if payload.get("buyer_accepts_marketing") is True
                           else MarketingConsent.UNKNOWN))


def _checkout_line(item: dict[str, Any]) -> CheckoutLine:
    sku = item.get("sku") or f"shopify-variant-{item.get('variant_id') or item.get('key')}"
    title = " — ".join(p for p in (item.get("title"), item.get("variant_title")) if p)
    return CheckoutLine(str(sku), count(item.get("quantity"), "Shopify checkout line quantity"),
                        money(item.get("price") or 0, "Shopify checkout line price"), title)


def customer_command(payload: dict[str, Any]) -> commands.RecordCustomer:
    return commands.RecordCustomer(
        CHANNEL, _exact_id(payload, "Shopify customer id"), str(payload.get("email") or "").lower(),
        " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p), consent(payload),
        optional_timestamp(payload.get("updated_at"), "Shopify customer updated_at"),
        optional_timestamp((payload.get("email_marketing_consent") or {}).get("consent_updated_at")
                           or payload.get("accepts_marketing_updated_at"), "Shopify consent_updated_at"))


def consent(customer: dict[str, Any]) -> MarketingConsent:
    """``email_marketing_consent.state`` (current API), else the legacy ``accepts_marketing``, else unknown."""
    state = (customer.get("email_marketing_consent") or {}).get("state")
    if state:
        return CONSENT.get(str(state).lower(), MarketingConsent.UNKNOWN)
    accepts = customer.get("accepts_marketing")
    if isinstance(accepts, bool):
        return MarketingConsent.SUBSCRIBED if accepts else MarketingConsent.NOT_SUBSCRIBED
    return MarketingConsent.UNKNOWN


def inventory_level_command(payload: dict[str, Any]) -> commands.RecordPlatformStock:
    """The level's GraphQL id carries the exact inventory item id (``…/InventoryLevel/<loc>?inventory_item_id=…``)."""
    gid = payload.get("admin_graphql_api_id")
    exact = parse_qs(urlsplit(gid).query).get("inventory_item_id", []) if isinstance(gid, str) else []
    item = exact[0] if exact and exact[0].isdigit() else platform_id(payload.get("inventory_item_id"),
                                                                        "Shopify inventory_item_id")
    return commands.RecordPlatformStock(
        CHANNEL, item, platform_id(payload.get("location_id"), "Shopify location_id"),
        optional_count(payload.get("available"), "Shopify available"),
        optional_timestamp(payload.get("updated_at"), "Shopify inventory level updated_at"))


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
