"""What the Shopify connector does: the webhook topics it subscribes to and the command each becomes, the topics
it deliberately ignores (each with the reason), and the credentials and scopes it needs.

Every topic Shopify documents is either here or in IGNORED: a contract test checks it over every sample payload.
"""

from __future__ import annotations

#: topic → what backroom does with it
SUBSCRIBED: dict[str, str] = {
    "orders/create": "ImportOrders: the order enters the pipeline (validate, reserve, fulfil)",
    "orders/updated": "RecordPayment: a known order records its payment state (secured: a payment hold is released; "
                      "failed: held for review; refunded: cancelled if unshipped); an order missed at creation is "
                      "imported",
    "orders/paid": "RecordPayment: as orders/updated (the payment captured)",
    "orders/cancelled": "CancelOrderByReference: stock released, warehouse told, customer emailed",
    "fulfillments/create": "RecordShipmentByReference: shipped with its tracking (fulfilled in Shopify itself)",
    "refunds/create": "RecordRefunds: kept with the order once per refund id (amount, lines restocked or not, "
                      "reason); fully refunded: payment refunded, and an unshipped order cancelled",
    "checkouts/create": "RecordCheckout: the checkout (a cart that may be abandoned) kept for the marketing flows; "
                        "checkout_created",
    "checkouts/update": "RecordCheckout: the newer version kept (checkout_updated; checkout_completed once done)",
    "checkouts/delete": "DeleteCheckout: marked deleted (no flow enrolls it any more)",
    "customers/create": "RecordCustomer: email, name and email marketing consent",
    "customers/update": "RecordCustomer: as customers/create; an older update never overwrites a newer one",
    "inventory_items/create": "RecordPlatformItem: which SKU the inventory item is (levels name only the item)",
    "inventory_items/update": "RecordPlatformItem: as inventory_items/create",
    "inventory_levels/update": "RecordPlatformStock: Shopify's level kept beside backroom's ledger (the stock of "
                               "record, never overwritten); a difference raises platform_stock_drift",
}

_LATER = "not mapped yet: comes with "
IGNORED: dict[str, str] = {
    "orders/delete": "a deleted order carries only its id; cancellation is what releases stock",
    "orders/edited": _LATER + "order edits (line changes after import)",
    "orders/fulfilled": "the fulfillments/create webhook carries the tracking; this one only repeats the order",
    "orders/partially_fulfilled": "the fulfillments/create webhook carries the tracking of each part",
    "fulfillments/update": _LATER + "delivery tracking (shipment_delivered from carrier events)",
    "customers/delete": _LATER + "customer data requests (GDPR redaction)",
    "customers/disable": "an account's state is not used; customers/update carries the customer",
    "customers/enable": "an account's state is not used; customers/update carries the customer",
    "customers/merge": _LATER + "customer data requests",
    "inventory_items/delete": "a deleted item's last reported levels stay as they were recorded",
    "inventory_levels/connect": "locations are configured in backroom",
    "inventory_levels/disconnect": "locations are configured in backroom",
    "app/uninstalled": _LATER + "store connection management (backroom connect)",
}
#: topic families with nothing for the back office to act on
IGNORED_FAMILIES: dict[str, str] = {
    prefix: "nothing in the back office acts on it"
    for prefix in ("app_purchases_one_time", "app_subscriptions", "bulk_operations", "carts", "collection_listings",
                   "collections", "companies", "company_contacts", "company_contact_roles", "company_locations",
                   "customer_account_settings", "customer_groups", "customer_payment_methods", "customer_tags",
                   "delivery_profiles", "disputes", "domains", "draft_orders", "fulfillment_events",
                   "fulfillment_orders", "locales", "locations", "markets",
                   "order_transactions", "payment_schedules", "payment_terms", "product_feeds", "product_listings",
                   "products", "profiles", "scheduled_product_listings", "segments", "selling_plan_groups", "shop",
                   "subscription_billing_attempts", "subscription_billing_cycle_edits",
                   "subscription_billing_cycles", "subscription_contracts", "tender_transactions", "themes",
                   "metaobjects", "returns", "reverse_deliveries", "reverse_fulfillment_orders", "channels",
                   "audit_events", "shipping_addresses", "discounts", "variants", "publications",
                   "customer_joined_segment", "customer_left_segment", "customer_payment_methods_update")
} | {
    prefix: _LATER + "consent changes on their own (customers/update carries the consent meanwhile)"
    for prefix in ("customers_email_marketing_consent", "customers_marketing_consent")
}

#: what an owner gives backroom (environment, never the database)
CREDENTIALS = {
    "BACKROOM_SHOPIFY__WEBHOOK_SECRET": "the app's client secret: every webhook's X-Shopify-Hmac-Sha256 is checked",
}
#: Admin API scopes: the webhooks above, the reconciliation poll, and what backroom tells the store (docs/connectors.md)
SCOPES = ("read_orders", "write_orders", "read_fulfillments", "read_merchant_managed_fulfillment_orders",
          "write_merchant_managed_fulfillment_orders", "read_inventory", "write_inventory", "read_discounts",
          "write_discounts", "read_customers", "write_customers")


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
