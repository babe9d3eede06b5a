"""What starts a flow, and the context its filter, exit and branch conditions read (CEL, as in rules).

    checkout_abandoned   customer, checkout, enrollment, event
    order_placed         customer, order, enrollment, event
    order_delivered      customer, order, enrollment, event
    customer_lapsed      customer, enrollment, event

``enrollment.ordered_since`` (an order arrived after the customer entered the flow) and ``customer.unsubscribed``
are what most exit conditions read. The schemas reuse the rules' ``Trigger`` so conditions get the same save-time
checks (unknown fields with a "did you mean", type mismatches, non-bool results).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backroom.rules.triggers import CHECKOUT, CUSTOMER, ORDER, Schema, Trigger

MARKETING_CUSTOMER: dict[str, Schema] = {
    **CUSTOMER,
    "email": "string",
    "consent": "string",  # subscribed | unsubscribed | never
    "unsubscribed": "bool",
    "bounced": "bool",
    "timezone": "string",
    "repurchase_interval_days": "double",  # 0.0 when the customer has fewer than two orders
    "days_since_last_order": "double",
}

ENROLLMENT: dict[str, Schema] = {
    "id": "string",
    "flow": "string",
    "hours_since_enrolled": "double",
    "ordered_since": "bool",
    "orders_since": "int",
    "emails_sent": "int",
}


def _trigger(name: str, summary: str, subject: str, **objects: dict[str, Schema]) -> Trigger:
    return Trigger(name, summary, subject, {"customer": MARKETING_CUSTOMER, **objects, "enrollment": ENROLLMENT})


FLOW_TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        _trigger("checkout_abandoned", "A checkout was left without an order for the store's abandonment delay",
                 "checkout", checkout=CHECKOUT),
        _trigger("order_placed", "A customer placed an order", "order", order=ORDER),
        _trigger("order_delivered", "The carrier delivered a customer's order", "order", order=ORDER),
        _trigger("customer_lapsed", "A customer has not ordered for longer than their usual repurchase interval",
                 "customer"),
    )
}


def build_context(trigger: Trigger, values: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger's whole schema with ``values`` laid over zero values (0, 0.0, "", false, []), so a condition
    never fails on a field the caller did not know."""
    schema = trigger.schema
    return {name: _fill(sub, values.get(name)) for name, sub in schema.items()}


def _fill(schema: Schema, value: Any) -> Any:
    if isinstance(schema, dict):
        given = value if isinstance(value, Mapping) else {}
        return {k: _fill(v, given.get(k)) for k, v in schema.items()}
    if isinstance(schema, list):
        return list(value) if isinstance(value, list | tuple) else []
    if value is None:
        return {"int": 0, "double": 0.0, "string": "", "bool": False}[schema]
    return value

