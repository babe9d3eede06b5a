"""What the WooCommerce connector does with each webhook topic (``resource.event``), and what it needs."""

from __future__ import annotations

SUBSCRIBED: dict[str, str] = {
    "order.created": "ImportOrders (a cancelled, refunded or failed new order is still recorded, on hold)",
    "order.updated": "by status: cancelled/refunded → CancelOrderByReference; completed → RecordShipmentByReference;"
                     " otherwise ImportOrders (an order missed at creation is imported, a known one left as it is)",
    "order.restored": "ImportOrders",
}
IGNORED: dict[str, str] = {
    "order.deleted": "a deleted order carries only its id; cancellation is what releases stock",
    "product.created": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.updated": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.deleted": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.restored": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "customer.created": "customers are created from their orders",
    "customer.updated": "customers are created from their orders",
    "customer.deleted": "not mapped yet: comes with customer data requests",
    "coupon.created": "nothing in the back office acts on it",
    "coupon.updated": "nothing in the back office acts on it",
    "coupon.deleted": "nothing in the back office acts on it",
    "coupon.restored": "nothing in the back office acts on it",
    "action.woocommerce_add_to_cart": "not mapped yet: comes with abandoned-checkout flows (marketing)",
}

CREDENTIALS = {
    "BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET": "the secret set on each webhook: X-WC-Webhook-Signature is checked",
}


def classify(topic: str) -> tuple[bool, str]:
    if topic in SUBSCRIBED:
        return True, SUBSCRIBED[topic]
    return False, IGNORED.get(topic, "unknown topic")
