"""The context a rule sees for an event, built from the live aggregates when the event is recorded and stored
with it, so a dry run later evaluates exactly what a live rule would have seen. Money is a double (CEL has no
decimal), addresses carry no names, streets or phone numbers (no PII where it is not needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backroom.orders.model import Address, CustomerStats, Order
from backroom.rules.triggers import TRIGGERS, Schema


def order_context(order: Order) -> dict[str, Any]:
    shipping = _address(order.shipping_address)
    return {
        "id": order.id or 0,
        "number": order.number,
        "channel": order.channel,
        "status": order.status.value,
        "payment_state": order.payment_state.value,
        "currency": order.currency,
        "total": float(order.total),
        "item_count": sum(line.quantity for line in order.lines),
        "line_count": len(order.lines),
        "skus": sorted({line.sku for line in order.lines}),
        "lines": [{"sku": ln.sku, "title": ln.title, "quantity": ln.quantity, "unit_price": float(ln.unit_price),
                   "total": float(ln.total)} for ln in order.lines],
        "tags": list(order.tags),
        "holds": sorted(h.value for h in order.holds),
        "priority": order.priority,
        "email": order.email,
        "email_domain": order.email.rpartition("@")[2],
        "placed_at": order.placed_at.isoformat(),
        "shipping_address": shipping,
        "billing_address": _address(order.billing_address) if order.billing_address else dict(shipping),
    }


def customer_context(order: Order, stats: CustomerStats) -> dict[str, Any]:
    return {
        "id": order.customer_id or 0,
        "orders_count": stats.orders_count,
        "total_spent": float(stats.total_spent),
        "first_order": stats.orders_count == 0,
    }


def event_context(name: str, at: datetime, tz: ZoneInfo, data: dict[str, Any]) -> dict[str, Any]:
    local = at.astimezone(tz)
    trigger = TRIGGERS.get(name)
    extra = {k: _typed(schema, data.get(k)) for k, schema in (trigger.extra if trigger else {}).items()}
    return {"name": name, "at": at.isoformat(), "hour": local.hour, "weekday": local.isoweekday(), **extra}


def _typed(schema: Schema, value: Any) -> Any:
    """An event's field as its trigger declares it (money travels in events as exact text, rules see a double)."""
    if schema == "double":
        return float(value or 0)
    if schema == "int":
        return int(value or 0)
    if schema == "bool":
        return bool(value)
    return "" if value is None else value


def checkout_context(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(data.get("checkout_id") or 0),
        "channel": str(data.get("channel", "")),
        "email": str(data.get("email", "")),
        "currency": str(data.get("currency", "")),
        "total": float(data.get("total") or 0),
        "item_count": int(data.get("item_count", 0)),
        "line_count": int(data.get("line_count", 0)),
        "skus": [str(s) for s in data.get("skus", [])],
        "recovery_url": str(data.get("recovery_url", "")),
        "completed": bool(data.get("completed")),
        "order_id": int(data.get("order_id") or 0),
    }


def stock_context(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": str(data.get("sku", "")),
        "available": int(data.get("available", 0)),
        "on_hand": int(data.get("on_hand", 0)),
        "threshold": int(data.get("threshold", 0)),
        "quantity": int(data.get("quantity", 0)),
        "location_id": int(data.get("location_id", 0)),
    }


def _address(address: Address) -> dict[str, str]:
    return {"country": address.country, "city": address.city, "postal_code": address.postal_code,
            "area": address.area}
