"""What the Shopify connector does: the webhook topics it subscribes to and the command each becomes, the topics
it deliberately ignores (each with the reason), and the credentials and scopes it needs.

Every topic Shopify documents is either here or in IGNORED: a contract test checks it over every sample payload.
"""

from __future__ import annotations

#: topic → what backroom does with it
SUBSCRIBED: dict[str, str] = {
    "orders/create": "ImportOrders: the order enters the pipeline (validate, reserve, fulfil)",
    "orders/updated": "ImportOrders: an order missed at creation is imported; a known one is left as it is",
    "orders/paid": "ImportOrders: as orders/updated (a payment captured on a known order is not applied yet)",
    "orders/cancelled": "CancelOrderByReference: stock released, warehouse told, customer emailed",
    "fulfillments/create": "RecordShipmentByReference: shipped with its tracking (fulfilled in Shopify itself)",
}

_LATER = "not mapped yet: comes with "
IGNORED: dict[str, str] = {
    "orders/delete": "a deleted order carries only its id; cancellation is what releases stock",
    "orders/edited": _LATER + "order edits (line changes after import)",
    "orders/fulfilled": "the fulfillments/create webhook carries the tracking; this one only repeats the order",
    "orders/partially_fulfilled": "the fulfillments/create webhook carries the tracking of each part",
    "fulfillments/update": _LATER + "delivery tracking (shipment_delivered from carrier events)",
    "refunds/create": _LATER + "refunds (returns and the support agent)",
    "checkouts/create": _LATER + "abandoned-checkout flows (marketing)",
    "checkouts/update": _LATER + "abandoned-checkout flows (marketing)",
    "checkouts/delete": _LATER + "abandoned-checkout flows (marketing)",
    "customers/create": "customers are created from their orders",
    "customers/update": "customers are created from their orders",
    "customers/delete": _LATER + "customer data requests (GDPR redaction)",
    "customers/disable": "customers are created from their orders",
    "customers/enable": "customers are created from their orders",
    "customers/merge": _LATER + "customer data requests",
    "inventory_levels/update": "backroom's stock ledger is the system of record; platform levels are reconciled",
    "inventory_levels/connect": "locations are configured in backroom",
    "inventory_levels/disconnect": "locations are configured in backroom",
    "app/uninstalled": _LATER + "store connection management (backroom connect)",
}
#: topic families with nothing for the back office to act on
IGNORED_FAMILIES: dict[str, str] = {
    prefix: "nothing in the back office acts on it"
    for prefix in ("app_purchases_one_time", "app_subscriptions", "bulk_operations", "carts", "collection_listings",
                   "collections", "companies", "company_contacts", "company_contact_roles", "company_locations",
                   "customer_account_settings", "customer_groups", "customer_payment_methods",
                   "customers_email_marketing_consent", "customers_marketing_consent", "customer_tags",
                   "delivery_profiles", "disputes", "domains", "draft_orders", "fulfillment_events",
                   "fulfillment_orders", "inventory_items", "locales", "locations", "markets",
                   "order_transactions", "payment_schedules", "payment_terms", "product_feeds", "product_listings",
                   "products", "profiles", "scheduled_product_listings", "segments", "selling_plan_groups", "shop",
                   "subscription_billing_attempts", "subscription_billing_cycle_edits",
                   "subscription_billing_cycles", "subscription_contracts", "tender_transactions", "themes",
                   "metaobjects", "returns", "reverse_deliveries", "reverse_fulfillment_orders", "channels",
                   "audit_events", "shipping_addresses", "discounts", "variants", "publications",
                   "customer_joined_segment", "customer_left_segment", "customer_payment_methods_update")
}

#: what an owner gives backroom (environment, never the database)
CREDENTIALS = {
    "BACKROOM_SHOPIFY__WEBHOOK_SECRET": "the app's client secret: every webhook's X-Shopify-Hmac-Sha256 is checked",
}
#: Admin API scopes: the webhooks above, the reconciliation poll, and what backroom tells the store (docs/connectors.md)
SCOPES = ("read_orders", "write_orders", "read_fulfillments", "read_merchant_managed_fulfillment_orders",
          "write_merchant_managed_fulfillment_orders", "read_inventory", "write_inventory", "read_discounts",
          "write_discounts", "read_customers")


def classify(topic: str) -> tuple[bool, str]:
    """(subscribed, what happens or why not) for a topic."""
    if topic in SUBSCRIBED:
        return True, SUBSCRIBED[topic]
    if topic in IGNORED:
        return False, IGNORED[topic]
    family = topic.split("/", 1)[0]
    if family in IGNORED_FAMILIES:
        return False, IGNORED_FAMILIES[family]
    return False, "unknown topic"
