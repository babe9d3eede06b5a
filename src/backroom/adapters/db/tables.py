"""The schema: every business row carries ``store_id``; invariants the database can hold, it holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = False) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _store() -> Column[Any]:
    return Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), nullable=False)


stores = Table(
    "stores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("currency", String(3), nullable=False, server_default="GBP"),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    Column("rules_revision", Integer, nullable=False, server_default="0"),
    _ts("created_at"),
)

automation_modes = Table(
    "automation_modes",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("automation", String(64), primary_key=True),
    Column("mode", String(16), nullable=False),
    _ts("updated_at"),
    CheckConstraint("mode IN ('live', 'shadow', 'off')", name="mode_known"),
)

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True),
    _store(),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("priority", Integer, nullable=False, server_default="100"),
    UniqueConstraint("store_id", "code", name="uq_locations_store_code"),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    _store(),
    Column("handle", String(200), nullable=False),
    Column("title", Text, nullable=False),
    UniqueConstraint("store_id", "handle", name="uq_products_store_handle"),
)

variants = Table(
    "variants",
    metadata,
    Column("id", Integer, primary_key=True),
    _store(),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("title", Text, nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("low_stock_threshold", Integer, nullable=True),
    UniqueConstraint("store_id", "sku", name="uq_variants_store_sku"),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("sku", String(100), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), nullable=False),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    UniqueConstraint("store_id", "sku", "location_id", name="uq_stock_levels_store_sku_location"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

stock_ledger = Table(
    "stock_ledger",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("sku", String(100), nullable=False),
    Column("location_id", Integer, nullable=False),
    Column("delta_on_hand", Integer, nullable=False),
    Column("delta_reserved", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("reference", Text, nullable=False),
    _ts("at"),
    Index("ix_stock_ledger_store_sku", "store_id", "sku", "id"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    _ts("created_at"),
    # what the store's platform says of the customer (customers/update): customers known only from their orders
    # have no platform id and an unknown consent
    Column("channel", String(32), nullable=True),
    Column("external_id", Text, nullable=True),
    Column("marketing_consent", String(16), nullable=False, server_default="unknown"),
    _ts("platform_updated_at", nullable=True),
    # when backroom's one-click link unsubscribed them: a platform's stale "subscribed" does not undo it
    _ts("unsubscribed_at", nullable=True),
    UniqueConstraint("store_id", "email", name="uq_customers_store_email"),
    Index("uq_customers_store_channel_external", "store_id", "channel", "external_id", unique=True,
          postgresql_where=text("external_id IS NOT NULL")),
    CheckConstraint("marketing_consent IN ('subscribed', 'not_subscribed', 'unsubscribed', 'pending', 'unknown')",
                    name="marketing_consent_known"),
)

order_ids = Sequence("orders_id_seq", metadata=metadata)
backorder_seq = Sequence("backorder_seq", metadata=metadata)

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger, order_ids, primary_key=True, server_default=order_ids.next_value()),
    _store(),
    Column("channel", String(32), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("customer_id", BigInteger, ForeignKey("customers.id"), nullable=True),
    Column("email", Text, nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("payment_state", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("shipping_address", JSONB, nullable=False),
    Column("billing_address", JSONB, nullable=True),
    Column("holds", ARRAY(Text), nullable=False, server_default="{}"),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("notes", JSONB, nullable=False, server_default="[]"),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("fingerprint", String(32), nullable=False),
    Column("backorder_seq", BigInteger, nullable=True),
    _ts("placed_at"),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("delivered_at", nullable=True),  # the first time it was written delivered (updated_at moves on)
    UniqueConstraint("store_id", "channel", "external_id", name="uq_orders_store_channel_external"),
    Index("ix_orders_store_fingerprint", "store_id", "fingerprint", "placed_at"),
    Index("ix_orders_store_status", "store_id", "status", "id"),
    Index("ix_orders_store_customer", "store_id", "customer_id"),
    Index("ix_orders_store_number", "store_id", "number"),  # the support agent finds orders by their number
    Index("ix_orders_store_email", "store_id", "email", "placed_at"),  # … and a verified customer's latest
    Index(
        "ix_orders_backorder_queue",
        "store_id",
        "backorder_seq",
        postgresql_where=text("backorder_seq IS NOT NULL"),
    ),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("title", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_order_lines_store_sku", "store_id", "sku"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sku", String(100), nullable=False),
    Column("location_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("carrier", Text, nullable=False),
    Column("tracking_number", Text, nullable=False),
    Column("tracking_url", Text, nullable=False, server_default=""),
    Column("lines", JSONB, nullable=False),
    _ts("shipped_at"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("source", String(64), nullable=False),
    Column("source_id", Text, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("headers", JSONB, nullable=False, server_default="{}"),
    Column("body", Text, nullable=False),
    Column("error", Text, nullable=True),
    _ts("received_at"),
    # received inputs are processed after the reply (service_layer/inbox_processing.py): attempts so far, and when
    # one that failed is due again (on the database's clock, like effects)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("store_id", "source", "source_id", name="uq_inbox_store_source_id"),
    CheckConstraint("status IN ('received', 'processed', 'rejected', 'failed')", name="status_known"),
    Index("ix_inbox_store_received", "store_id", "received_at"),  # a store's last input (quiet-store alert)
    Index("ix_inbox_due", "store_id", "id", postgresql_where=text("status = 'received'")),  # oldest first
)

effects = Table(
    "effects",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("kind", String(64), nullable=False),
    Column("key", Text, nullable=False),
    Column("automation", String(64), nullable=False),
    Column("subject_id", BigInteger, nullable=True),
    Column("payload", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="5"),
    Column("last_error", Text, nullable=True),
    Column("result", JSONB, nullable=True),
    _ts("created_at"),
    # job scheduling runs on the database's clock (see adapters/queue/defer.py), business times on the injected one
    Column("next_attempt_at", DateTime(timezone=True), nullable=True, server_default=text("now()")),
    _ts("done_at", nullable=True),
    UniqueConstraint("store_id", "key", name="uq_effects_store_key"),
    Index("ix_effects_store_subject", "store_id", "subject_id"),
    Index("ix_effects_store_created", "store_id", "created_at"),  # error rates by automation (alerts)
    Index("ix_effects_due", "status", "next_attempt_at", postgresql_where=text("status IN ('pending', 'retrying')")),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("reason_code", String(64), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", BigInteger, nullable=True),
    Column("title", Text, nullable=False),
    Column("context", JSONB, nullable=False),
    Column("allowed_actions", ARRAY(Text), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("assignee", Text, nullable=True),
    Column("resolution", Text, nullable=True),
    Column("resolved_by", Text, nullable=True),
    _ts("created_at"),
    _ts("due_at", nullable=True),
    _ts("resolved_at", nullable=True),
    Index("ix_review_items_store_status", "store_id", "status", "id"),
    Index("ix_review_items_subject", "store_id", "subject_type", "subject_id"),
    Index(
        "uq_review_items_open_per_subject_reason",
        "store_id",
        "subject_type",
        "subject_id",
        "reason_code",
        unique=True,
        postgresql_where=text("status = 'open' AND subject_id IS NOT NULL"),
    ),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    _ts("at"),
    Column("trigger", Text, nullable=False),
    Column("policy", String(64), nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", BigInteger, nullable=True),
    Column("inputs", JSONB, nullable=False),
    Column("outcome", JSONB, nullable=False),
    Column("shadow", Boolean, nullable=False, server_default="false"),
    Index("ix_decisions_subject", "store_id", "subject_type", "subject_id"),
    Index("ix_decisions_store_policy_at", "store_id", "policy", "at"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("name", String(64), nullable=False),
    _ts("at"),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", BigInteger, nullable=True),
    Column("data", JSONB, nullable=False),
    # what rules saw, kept for dry runs: written on every event, read back whole, never queried inside, so plain
    # json (stored as text) rather than jsonb, which the server would have to parse and convert on every insert
    Column("context", JSON, nullable=True),
    Index("ix_events_store_name_at", "store_id", "name", "at"),
    Index("ix_events_store_at", "store_id", "at"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    _store(),
    Column("name", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("current_version", Integer, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("store_id", "name", name="uq_rules_store_name"),
    CheckConstraint("mode IN ('live', 'shadow', 'off')", name="mode_known"),
)

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    _ts("created_at"),
    UniqueConstraint("rule_id", "version", name="uq_rule_versions_rule_version"),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("alert", String(64), primary_key=True),
    Column("subject", Text, primary_key=True),
    Column("open", Boolean, nullable=False),
    Column("detail", JSONB, nullable=False),
    _ts("opened_at"),
    _ts("last_sent_at", nullable=True),
    _ts("closed_at", nullable=True),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("account", Text, nullable=False),  # the shop domain or the site's host: never a credential
    Column("callback_url", Text, nullable=False),
    Column("reconcile_cursor", DateTime(timezone=True), nullable=True),  # platform updated_at already polled
    _ts("last_polled_at", nullable=True),
    Column("last_poll", JSONB, nullable=False, server_default="{}"),  # what the last poll found
    Column("numbers_seen", JSONB, nullable=False, server_default="[]"),  # recent order numbers, for gap checks
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("platform", "account", name="uq_connections_platform_account"),
    CheckConstraint("platform IN ('shopify', 'woocommerce')", name="platform_known"),
)


# -- what a connected store's platform reports besides orders (0005) -------------------------------------------

order_refunds = Table(
    "order_refunds",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("refund_id", Text, nullable=False),  # the platform's own id: a refund is recorded once
    Column("amount", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("lines", JSONB, nullable=False, server_default="[]"),  # [{sku, quantity, restocked}]
    Column("restocked", Boolean, nullable=False, server_default="false"),
    _ts("refunded_at", nullable=True),
    _ts("recorded_at"),
    UniqueConstraint("store_id", "channel", "refund_id", name="uq_order_refunds_store_channel_refund"),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

checkouts = Table(
    "checkouts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("channel", String(32), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("token", Text, nullable=False, server_default=""),
    Column("email", Text, nullable=False, server_default=""),
    Column("customer_name", Text, nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("lines", JSONB, nullable=False),  # [{sku, quantity, unit_price, title}]
    Column("recovery_url", Text, nullable=False, server_default=""),
    _ts("started_at"),
    _ts("platform_updated_at"),
    _ts("completed_at", nullable=True),
    # deferred: an order imported in the same transaction is written on commit, after the checkout is linked
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
           nullable=True),
    _ts("deleted_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("store_id", "channel", "external_id", name="uq_checkouts_store_channel_external"),
    Index("ix_checkouts_store_token", "store_id", "channel", "token"),
    Index("ix_checkouts_open_by_email", "store_id", "channel", "email",
          postgresql_where=text("completed_at IS NULL AND deleted_at IS NULL")),
)

platform_items = Table(
    "platform_items",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("item_id", Text, primary_key=True),  # Shopify's inventory item: its levels name only the item
    Column("sku", String(100), nullable=False),
    _ts("updated_at"),
)

platform_stock = Table(
    "platform_stock",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("item_id", Text, primary_key=True),
    Column("location_id", Text, primary_key=True),  # the platform's location
    Column("sku", String(100), nullable=True),
    Column("available", Integer, nullable=True),  # NULL: the platform does not track it
    Column("backroom_available", Integer, nullable=True),
    Column("difference", Integer, nullable=True),  # the platform's total for the SKU minus backroom's
    _ts("reported_at", nullable=True),
    _ts("recorded_at"),
    Index("ix_platform_stock_store_sku", "store_id", "channel", "sku"),
)

# -- replenishment ------------------------------------------------------------------------------------------------

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True),
    _store(),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("lead_time_days", Numeric(8, 2), nullable=False),
    Column("lead_time_sd_days", Numeric(8, 2), nullable=False, server_default="0"),
    Column("moq", Integer, nullable=False, server_default="1"),
    Column("pack_multiple", Integer, nullable=False, server_default="1"),
    Column("order_days", ARRAY(Integer), nullable=False, server_default="{}"),  # weekdays, Monday = 0; {}: any
    Column("order_cycle_days", Numeric(8, 2), nullable=False, server_default="14"),
    Column("currency", String(3), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("store_id", "code", name="uq_suppliers_store_code"),
    CheckConstraint("lead_time_days > 0 AND lead_time_sd_days >= 0", name="lead_time_positive"),
    CheckConstraint("moq >= 1 AND pack_multiple >= 1", name="moq_multiple_positive"),
)

supplier_items = Table(
    "supplier_items",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("supplier_sku", Text, nullable=True),
    Column("moq", Integer, nullable=True),
    Column("pack_multiple", Integer, nullable=True),
    Column("lead_time_days", Numeric(8, 2), nullable=True),
    _ts("updated_at"),
    CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("supplier_id", Integer, ForeignKey("suppliers.id", ondelete="CASCADE"), nullable=False),
    Column("number", String(100), nullable=False),
    Column("cycle", Date, nullable=False),
    Column("status", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("approved_by", Text, nullable=True),
    _ts("approved_at", nullable=True),
    Column("expected_on", Date, nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    # one PO per supplier per order cycle: the plan finds it again instead of raising a second one
    UniqueConstraint("store_id", "supplier_id", "cycle", name="uq_purchase_orders_store_supplier_cycle"),
    UniqueConstraint("store_id", "number", name="uq_purchase_orders_store_number"),
    Index("ix_purchase_orders_store_status", "store_id", "status"),
    CheckConstraint("status IN ('draft', 'ordered', 'partially_received', 'received', 'cancelled')",
                    name="status_known"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("po_id", BigInteger, ForeignKey("purchase_orders.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("line_no", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received", Integer, nullable=False, server_default="0"),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("supplier_sku", Text, nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("received >= 0", name="received_not_negative"),
)

plan_lines = Table(
    "plan_lines",
    metadata,
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("day", Date, nullable=False),
    Column("line", JSONB, nullable=False),
    Column("stockout_expected", Boolean, nullable=False, server_default="false"),
)

# -- support ------------------------------------------------------------------------------------------------------

support_conversations = Table(
    "support_conversations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("channel", String(16), nullable=False),
    Column("external_id", Text, nullable=False),  # the caller's conversation id (widget session, email thread)
    Column("customer_email", Text, nullable=True),
    Column("state", JSONB, nullable=False, server_default="{}"),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("last_intent", String(64), nullable=True),
    Column("messages", Integer, nullable=False, server_default="0"),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("store_id", "channel", "external_id", name="uq_support_conversations_store_channel_external"),
    Index("ix_support_conversations_store_status", "store_id", "status", "updated_at"),
    CheckConstraint("status IN ('open', 'handed_over', 'closed')", name="status_known"),
)

support_messages = Table(
    "support_messages",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("conversation_id", BigInteger, ForeignKey("support_conversations.id", ondelete="CASCADE"),
           nullable=False),
    Column("direction", String(8), nullable=False),  # in: the customer's; out: the agent's
    Column("text", Text, nullable=False),
    Column("intents", JSONB, nullable=False, server_default="[]"),
    Column("confidence", Numeric(5, 4), nullable=True),
    Column("actions", JSONB, nullable=False, server_default="[]"),
    Column("handover", String(32), nullable=True),
    Column("verified", Boolean, nullable=False, server_default="false"),
    Column("citations", JSONB, nullable=False, server_default="[]"),
    Column("latency_ms", Numeric(10, 3), nullable=True),
    _ts("created_at"),
    Index("ix_support_messages_conversation", "conversation_id", "id"),
    CheckConstraint("direction IN ('in', 'out')", name="direction_known"),
)

order_returns = Table(
    "order_returns",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("number", Text, nullable=False),  # the return's reference, on the customer's parcel
    Column("status", String(16), nullable=False, server_default="requested"),
    Column("lines", JSONB, nullable=False),  # [{sku, title, quantity}]
    Column("reason", Text, nullable=False, server_default=""),
    Column("actor", Text, nullable=False),
    _ts("requested_at"),
    UniqueConstraint("store_id", "number", name="uq_order_returns_store_number"),
    CheckConstraint("status IN ('requested', 'received', 'refunded', 'rejected')", name="status_known"),
)

# -- marketing flows (docs/flows.md) ---------------------------------------------------------------------------------

marketing_enrollments = Table(
    "marketing_enrollments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("flow", Text, nullable=False),
    Column("email", Text, nullable=False),  # the customer, as flows know them
    Column("subject_type", String(16), nullable=False),  # checkout | order
    Column("subject_id", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    _ts("wake_at", nullable=True),  # when the tick looks at it next; NULL once it has finished
    _ts("enrolled_at"),
    Column("value", JSONB, nullable=False),  # the enrollment with its whole history (adapters/db/marketing.py)
    _ts("updated_at"),
    UniqueConstraint("store_id", "flow", "subject_type", "subject_id", name="uq_marketing_enrollments_subject"),
    Index("ix_marketing_enrollments_wake_at", "wake_at", postgresql_where=text("wake_at IS NOT NULL")),
    # take_due: a store's due enrollments in (wake_at, id) order without sorting a crowd that woke at one instant
    Index("ix_marketing_enrollments_due", "store_id", "wake_at", "id", postgresql_where=text("wake_at IS NOT NULL")),
    Index("ix_marketing_enrollments_customer", "store_id", "email", "flow"),
    CheckConstraint("state IN ('active', 'waiting', 'deferred', 'completed', 'exited')", name="state_known"),
)

marketing_sends = Table(
    "marketing_sends",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("enrollment_id", BigInteger, ForeignKey("marketing_enrollments.id", ondelete="CASCADE"), nullable=False),
    Column("flow", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("message_key", Text, nullable=False),  # the email effect's key, and its Message-ID
    Column("template", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # marketing | transactional
    Column("shadow", Boolean, nullable=False, server_default="false"),  # decided, recorded, not sent
    _ts("sent_at"),
    UniqueConstraint("store_id", "message_key", name="uq_marketing_sends_store_message_key"),
    Index("ix_marketing_sends_customer", "store_id", "email", "sent_at"),
)

marketing_discounts = Table(
    "marketing_discounts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("enrollment_id", BigInteger, ForeignKey("marketing_enrollments.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),  # the domain's idempotency key: one discount per enrollment
    Column("code", Text, nullable=False),
    Column("percent", Integer, nullable=False),
    _ts("expires_at"),
    _ts("created_at"),
    UniqueConstraint("store_id", "key", name="uq_marketing_discounts_store_key"),
    UniqueConstraint("store_id", "code", name="uq_marketing_discounts_store_code"),
    CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
)

#: addresses that do not take mail (a hard bounce, from the SMTP reply or a DSN, or an operator): marketing never
#: goes to them (docs/flows.md, "Consent"); an operator lifts one with `backroom suppressions remove`
email_suppressions = Table(
    "email_suppressions",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _store(),
    Column("email", Text, nullable=False),  # lower case
    Column("reason", String(32), nullable=False),  # hard_bounce
    Column("detail", Text, nullable=False, server_default=""),  # the SMTP reply or the DSN's status: no body
    Column("source", String(16), nullable=False),  # smtp | dsn | operator
    _ts("at"),
    UniqueConstraint("store_id", "email", name="uq_email_suppressions_store_email"),
    CheckConstraint("source IN ('smtp', 'dsn', 'operator')", name="source_known"),
)
