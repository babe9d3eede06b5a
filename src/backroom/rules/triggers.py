"""The triggers a rule can listen to: every domain event, each with a documented, typed context.

A context is what a rule's condition and its action templates see, e.g. for ``order_created``::

    order.total > 500 && customer.orders_count == 0
        && order.shipping_address.country != order.billing_address.country

Types are CEL's: ``int``, ``double``, ``string``, ``bool``, lists (``[T]``) and objects (``{field: T}``). Money is
a ``double`` in the store's currency, so write ``order.total > 500`` or ``order.total > 500.0`` (CEL compares ints
with doubles, but does not add them: ``order.total + 1.0``, not ``order.total + 1``).

The same schema drives the documentation (``backroom rules triggers``), the save-time checks (unknown fields are
reported with a suggestion) and the sample contexts conditions are test-evaluated on before they are saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = str | list[Any] | dict[str, Any]

ADDRESS: dict[str, Schema] = {"country": "string", "city": "string", "postal_code": "string", "area": "string"}

LINE: dict[str, Schema] = {
    "sku": "string", "title": "string", "quantity": "int", "unit_price": "double", "total": "double",
}

ORDER: dict[str, Schema] = {
    "id": "int",
    "number": "string",
    "channel": "string",
    "status": "string",
    "payment_state": "string",
    "currency": "string",
    "total": "double",
    "item_count": "int",
    "line_count": "int",
    "skus": ["string"],
    "lines": [LINE],
    "tags": ["string"],
    "holds": ["string"],
    "priority": "int",
    "email": "string",
    "email_domain": "string",
    "placed_at": "string",
    "shipping_address": ADDRESS,
    "billing_address": ADDRESS,
}

CUSTOMER: dict[str, Schema] = {
    "id": "int",
    "orders_count": "int",
    "total_spent": "double",
    "first_order": "bool",
}

STOCK: dict[str, Schema] = {
    "sku": "string",
    "available": "int",
    "on_hand": "int",
    "threshold": "int",
    "quantity": "int",
    "location_id": "int",
}

REVIEW: dict[str, Schema] = {"reason_code": "string", "title": "string", "subject_type": "string"}

CHECKOUT: dict[str, Schema] = {
    "id": "int",
    "channel": "string",
    "email": "string",
    "currency": "string",
    "total": "double",
    "item_count": "int",
    "line_count": "int",
    "skus": ["string"],
    "recovery_url": "string",
    "completed": "bool",
    "order_id": "int",
}

EVENT: dict[str, Schema] = {"name": "string", "at": "string", "hour": "int", "weekday": "int"}


@dataclass(frozen=True)
class Trigger:
    name: str
    summary: str
    subject: str  # "order", "sku", "checkout" or "review_item": what actions on this trigger can act on
    objects: dict[str, dict[str, Schema]]
    extra: dict[str, Schema] = field(default_factory=dict)  # event-specific fields, under ``event.``

    @property
    def schema(self) -> dict[str, dict[str, Schema]]:
        return {**self.objects, "event": {**EVENT, **self.extra}}


_ORDER_OBJECTS = {"order": ORDER, "customer": CUSTOMER}


def _order_trigger(name: str, summary: str, **extra: Schema) -> Trigger:
    return Trigger(name, summary, "order", _ORDER_OBJECTS, dict(extra))


TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        _order_trigger("order_created", "An order arrived and was validated; runs before it is sent to the warehouse"),
        _order_trigger("stock_reserved", "Stock was reserved for an order"),
        _order_trigger("order_backordered", "An order is waiting for stock (FIFO backorder queue)"),
        _order_trigger("backorder_allocated", "Stock arrived and completed a backordered order"),
        _order_trigger("fulfillment_requested", "An order was sent to the warehouse"),
        _order_trigger("order_held", "A rule held an order's fulfillment", reason="string", rule="string"),
        _order_trigger("order_released", "A rule released an order's fulfillment hold", rule="string"),
        _order_trigger("order_shipped", "The warehouse shipped an order", carrier="string", tracking_number="string"),
        _order_trigger("shipment_delivered", "The carrier delivered an order"),
        _order_trigger("order_cancelled", "An order was cancelled", reason="string", actor="string"),
        Trigger("review_item_created", "An exception was put in the review queue", "order",
                {**_ORDER_OBJECTS, "review": REVIEW}),
        Trigger("stock_received", "Stock arrived or was counted at a location", "sku", {"stock": STOCK}),
        Trigger("stock_low", "A SKU's available stock fell to or below its low-stock threshold", "sku",
                {"stock": STOCK}),
        Trigger("stockout_expected", "The replenishment plan expects a SKU to run out before an order placed today "
                "could arrive (raised once per episode; stock.available is the stock free for new orders)", "sku",
                {"stock": STOCK},
                {"days_of_cover": "double", "stockout_on": "string", "last_order_day": "string", "on_order": "int",
                 "late_on_order": "int", "lead_time_days": "double", "supplier": "string"}),
        _order_trigger("order_paid", "The store's platform reports an order's payment captured", previous="string"),
        _order_trigger("order_refunded", "A refund made on the store's platform was recorded on an order",
                       amount="double", currency="string", full="bool"),
        Trigger("checkout_created", "A buyer started a checkout on the store's platform (a cart that may be "
                "abandoned)", "checkout", {"checkout": CHECKOUT}),
        Trigger("checkout_updated", "A checkout changed on the store's platform", "checkout",
                {"checkout": CHECKOUT}),
        Trigger("checkout_completed", "A checkout became an order", "checkout", {"checkout": CHECKOUT}),
        Trigger("platform_stock_drift", "The store's platform shows a SKU's stock differently from backroom's "
                "ledger (the stock of record)", "sku", {"stock": STOCK},
                {"platform_available": "int", "difference": "int", "channel": "string"}),
    )
}


def sample(schema: Schema, variant: int = 0) -> Any:
    """A value of this schema's shape; variants differ (0/1, true/false, empty/non-empty strings) so that sample
    evaluation walks both sides of most conditions."""
    if isinstance(schema, dict):
        return {k: sample(v, variant) for k, v in schema.items()}
    if isinstance(schema, list):
        return [sample(schema[0], variant)]
    return {"int": (1, 0), "double": (1.5, 0.0), "string": ("x", ""), "bool": (True, False)}[schema][variant % 2]


def sample_context(trigger: Trigger, variant: int = 0) -> dict[str, Any]:
    return {name: sample(schema, variant) for name, schema in trigger.schema.items()}


def describe(schema: Schema) -> str:
    if isinstance(schema, dict):
        return "object"
    if isinstance(schema, list):
        inner = schema[0]
        return f"list of {describe(inner) if not isinstance(inner, dict) else 'objects'}"
    return schema


def fields(schema: dict[str, Schema], prefix: str = "") -> list[tuple[str, str]]:
    """Every dotted path of an object schema with its type, for documentation."""
    out: list[tuple[str, str]] = []
    for name, sub in schema.items():
        path = f"{prefix}{name}"
        out.append((path, describe(sub)))
        if isinstance(sub, dict):
            out.extend(fields(sub, path + "."))
        elif isinstance(sub, list) and isinstance(sub[0], dict):
            out.extend(fields(sub[0], path + "[]."))
    return out
