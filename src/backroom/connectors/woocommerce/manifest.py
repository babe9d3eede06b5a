"""What the WooCommerce connector does with each webhook topic (``resource.event``), and what it needs."""

from __future__ import annotations

SUBSCRIBED: dict[str, str] = {
    "order.created": "ImportOrders (a cancelled, refunded or failed new order is still recorded, on hold)",
    "order.updated": "by status: cancelled → CancelOrderByReference; refunded → RecordRefunds (in full: payment "
                     "refunded, an unshipped order cancelled); completed → RecordShipmentByReference; refunds listed "
                     "on an order in progress → RecordRefunds (partial); otherwise RecordPayment (processing: paid, "
                     "a payment hold released; an order missed at creation is imported)",
    "order.restored": "ImportOrders",
    "customer.created": "RecordCustomer: email and name (WooCommerce keeps no marketing consent: unknown)",
    "customer.updated": "RecordCustomer: as customer.created; an older update never overwrites a newer one",
}
IGNORED: dict[str, str] = {
    "order.deleted": "a deleted order carries only its id; cancellation is what releases stock",
    "product.created": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.updated": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.deleted": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "product.restored": "not mapped yet: comes with catalog sync (CSV and platform import)",
    "customer.deleted": "not mapped yet: comes with customer data requests",
    "coupon.created": "nothing in the back office acts on it",
    "coupon.updated": "nothing in the back office acts on it",
    "coupon.deleted": "nothing in the back office acts on it",
    "coupon.restored": "nothing in the back office acts on it",
    "action.woocommerce_add_to_cart": "a cart event without the visitor's email or a way back to the cart: not an "
                                      "abandoned checkout backroom can follow up (see NOT_AVAILABLE)",
}
#: what WooCommerce core has no webhook for at all
NOT_AVAILABLE: dict[str, str] = {
    "checkouts (abandoned carts)": "WooCommerce core sends no checkout webhook: a cart lives in the visitor's "
                                   "session until the order is placed. A plugin or snippet posts carts to backroom's "
                                   "signed POST /inbound/checkouts (channel woocommerce, connectors/checkouts.py); "
                                   "a WooCommerce order then completes its buyer's open cart by email",
}

CREDENTIALS = {
    "BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET": "the secret set on each webhook: X-WC-Webhook-Signature is checked",
}


def classify(topic: str) -> tuple[bool, str]:
    if topic in SUBSCRIBED:
        return True, SUBSCRIBED[topic]
    return False, IGNORED.get(topic, "unknown topic")
