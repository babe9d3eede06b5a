"""Payments and refunds a store's platform reports, through the real webhook endpoints, the inbox and the bus on
real PostgreSQL: a captured payment releases a payment hold into the pipeline, a refund is kept once per platform
id, a full refund cancels an unshipped order. Exact rows, and what must not change when it must not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import TestClient, api_client, rows, scalar, seed_catalog

from backroom.bootstrap import Backroom
from backroom.config import ShopifySettings, WooCommerceSettings
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

SHOPIFY_SECRET = "shpss_app_secret"
WOO_SECRET = "wc-webhook-secret"
SHOP = "acme.myshopify.com"
ORDER_ID = 9_007_199_254_741_993  # above 2^53, as real Shopify ids are


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=ShopifySettings(webhook_secret=SecretStr(SHOPIFY_SECRET), shops={SHOP: "default"}),
                    woocommerce=WooCommerceSettings(webhook_secret=SecretStr(WOO_SECRET),
                                                    sites={"shop.example.com": "default"})) as c:
        yield c


def shopify_order(financial_status: str = "paid", quantity: int = 2, price: str = "20.00") -> dict[str, Any]:
    address = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 High Street", "city": "London",
               "zip": "SW1A 2AA", "country_code": "GB", "province_code": ""}
    return {"id": ORDER_ID, "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}", "name": "#1001",
            "email": "ada@example.com", "currency": "GBP", "financial_status": financial_status,
            "created_at": "2026-11-27T08:00:00+00:00", "shipping_address": address, "billing_address": address,
            "line_items": [{"id": 11, "sku": "LAMP", "quantity": quantity, "price": price, "title": "Lamp"}]}


def shopify_refund(refund_id: int, quantity: int, amount: str) -> dict[str, Any]:
    return {"id": refund_id, "order_id": ORDER_ID, "note": "damaged in transit", "restock": False,
            "processed_at": "2026-11-27T10:00:00+00:00",
            "refund_line_items": [{"id": 1, "quantity": quantity, "line_item_id": 11, "restock_type": "cancel",
                                   "line_item": {"id": 11, "sku": "LAMP", "variant_id": 5}}],
            "transactions": [{"kind": "refund", "status": "success", "amount": amount, "currency": "GBP"}]}


def deliver(app: Backroom, client: TestClient, topic: str, payload: dict[str, Any], event_id: str) -> dict[str, Any]:
    """A signed Shopify delivery, answered, then processed by the inbox processor."""
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/shopify", content=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Event-Id": event_id, "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET, body)})
    assert response.status_code == 200, response.text
    app.process_inbox()
    reply: dict[str, Any] = response.json()
    return reply


def deliver_woo(app: Backroom, client: TestClient, topic: str, payload: dict[str, Any], delivery_id: str) -> None:
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/woocommerce", content=body, headers={
        "Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Signature": sign(WOO_SECRET, body)})
    assert response.status_code == 200, response.text
    app.process_inbox()


def order_row(app: Backroom) -> tuple[Any, ...]:
    (row,) = rows(app, "SELECT status, payment_state, holds FROM orders")
    return tuple(row)


def reviews(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT reason_code, status, resolution, resolved_by FROM review_items"
                                        " ORDER BY id")]


def decisions(app: Backroom, policy: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT trigger, inputs, outcome FROM decisions WHERE policy = :p"
                                        " ORDER BY id", p=policy)]


def events(app: Backroom, name: str) -> list[Any]:
    return [r[0] for r in rows(app, "SELECT data FROM events WHERE name = :n ORDER BY id", n=name)]


def stock(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT sku, on_hand, reserved FROM stock_levels ORDER BY id")]


def inbox(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT source_id, kind, status, error FROM inbox ORDER BY id")]


# -- payments ------------------------------------------------------------------------------------------------------


def test_a_payment_captured_on_an_order_held_for_payment_releases_it_into_the_pipeline(
        app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("expired"), "evt-1")  # expired → failed: held
    assert order_row(app) == ("on_hold", "failed", ["payment_failed"])
    assert stock(app) == [("LAMP", 5, 0), ("LAMP", 0, 0)]  # nothing reserved for an unpaid order

    deliver(app, client, "orders/paid", shopify_order("paid"), "evt-2")
    deliver(app, client, "orders/paid", shopify_order("paid"), "evt-2")  # the same delivery again
    deliver(app, client, "orders/updated", shopify_order("paid"), "evt-3")  # the same news again

    assert order_row(app) == ("fulfillment_requested", "paid", [])
    assert stock(app) == [("LAMP", 5, 2), ("LAMP", 0, 0)]
    assert reviews(app) == [("payment_failed", "resolved", "payment paid in shopify", "system")]
    assert decisions(app, "platform_payment") == [
        ("payment:shopify:evt-2",
         {"channel": "shopify", "from": "failed", "to": "paid", "holds": ["payment_failed"]},
         {"outcome": "hold cleared; fulfillment requested", "status": "fulfillment_requested", "holds": []})]
    assert events(app, "order_paid") == [{"order_number": "#1001", "previous": "failed"}]
    assert sorted(r[0] for r in rows(app, "SELECT key FROM effects")) == [
        f"email:order_confirmation:order-{scalar(app, 'SELECT id FROM orders')}:v1",
        f"fulfillment-request:order-{scalar(app, 'SELECT id FROM orders')}:loc-"
        f"{scalar(app, 'SELECT id FROM locations WHERE code = :c', c='MAIN')}:v1"]
    assert [(r[0], r[2]) for r in inbox(app)] == [("evt-1", "processed"), ("evt-2", "processed"),
                                                  ("evt-3", "processed")]


def test_a_payment_releases_only_its_own_hold(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("voided", quantity=1, price="1500.00"), "evt-1")
    assert order_row(app) == ("on_hold", "voided", ["high_value", "payment_failed"])

    deliver(app, client, "orders/paid", shopify_order("paid", quantity=1, price="1500.00"), "evt-2")

    # voided is final news: a later "paid" is older news, and nothing moves
    assert order_row(app) == ("on_hold", "voided", ["high_value", "payment_failed"])
    assert decisions(app, "platform_payment") == []
    assert scalar(app, "SELECT count(*) FROM effects") == 0


def test_a_secured_payment_leaves_a_human_hold_in_place(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("expired", quantity=1, price="1500.00"), "evt-1")
    deliver(app, client, "orders/paid", shopify_order("paid", quantity=1, price="1500.00"), "evt-2")

    assert order_row(app) == ("on_hold", "paid", ["high_value"])
    assert stock(app) == [("LAMP", 5, 1), ("LAMP", 0, 0)]  # reserved, waiting for the high-value review
    assert reviews(app) == [("payment_failed", "resolved", "payment paid in shopify", "system"),
                            ("high_value", "open", None, None)]
    assert scalar(app, "SELECT count(*) FROM effects") == 0


def test_older_news_of_a_payment_changes_nothing(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("paid"), "evt-1")
    deliver(app, client, "orders/updated", shopify_order("pending"), "evt-2")  # an update that arrives late

    assert order_row(app) == ("fulfillment_requested", "paid", [])
    assert decisions(app, "platform_payment") == []


def test_a_payment_report_for_an_order_never_seen_imports_it(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/paid", shopify_order("paid"), "evt-1")
    assert rows(app, "SELECT external_id, status, payment_state FROM orders") == [
        (str(ORDER_ID), "fulfillment_requested", "paid")]
    assert decisions(app, "platform_payment") == []


def test_a_payment_failing_after_import_holds_an_unsent_order_for_review(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("authorized", quantity=1, price="1500.00"), "evt-1")
    deliver(app, client, "orders/updated", shopify_order("expired", quantity=1, price="1500.00"), "evt-2")

    assert order_row(app) == ("on_hold", "failed", ["high_value", "payment_failed"])
    assert reviews(app) == [("high_value", "open", None, None), ("payment_failed", "open", None, None)]
    assert decisions(app, "platform_payment") == [
        ("payment:shopify:evt-2", {"channel": "shopify", "from": "authorized", "to": "failed", "holds": ["high_value"]},
         {"outcome": "held for review", "status": "on_hold", "holds": ["high_value", "payment_failed"]})]


def test_woocommerce_processing_releases_an_order_whose_payment_had_failed(app: Backroom, client: TestClient,
                                                                          shared_data: Any) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    order = json.loads((shared_data / "connectors/woocommerce_rest_v3/json_examples/orders__retrieve_an_order.json")
                       .read_text())
    order["line_items"] = [{"id": 1, "name": "Lamp", "product_id": 7, "quantity": 1, "sku": "LAMP", "price": 20}]
    order["shipping"] = {**order["shipping"], "country": "GB", "postcode": "SW1A 2AA", "city": "London", "state": ""}
    deliver_woo(app, client, "order.created", {**order, "status": "failed"}, "d-1")
    assert order_row(app) == ("on_hold", "failed", ["payment_failed"])

    deliver_woo(app, client, "order.updated", {**order, "status": "processing"}, "d-2")

    assert order_row(app) == ("fulfillment_requested", "paid", [])
    assert reviews(app) == [("payment_failed", "resolved", "payment paid in woocommerce", "system")]
    assert [d[0] for d in decisions(app, "platform_payment")] == ["payment:woocommerce:d-2"]


# -- refunds -------------------------------------------------------------------------------------------------------


def test_a_partial_refund_is_kept_with_the_order_and_changes_nothing_else(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("paid"), "evt-1")
    deliver(app, client, "refunds/create", shopify_refund(9_007_199_254_740_995, 1, "20.00"), "evt-2")

    assert rows(app, "SELECT o.external_id, r.channel, r.refund_id, r.amount::text, r.currency, r.reason, r.lines,"
                     " r.restocked, r.refunded_at = '2026-11-27T10:00:00Z' FROM order_refunds r"
                     " JOIN orders o ON o.id = r.order_id") == [
        (str(ORDER_ID), "shopify", "9007199254740995", "20.00", "GBP", "damaged in transit",
         [{"sku": "LAMP", "quantity": 1, "restocked": True}], True, True)]
    assert order_row(app) == ("fulfillment_requested", "paid", [])
    assert stock(app) == [("LAMP", 5, 2), ("LAMP", 0, 0)]
    assert events(app, "order_refunded") == [{"order_number": "#1001", "amount": "20.00", "currency": "GBP",
                                              "full": False, "refund_ids": ["9007199254740995"]}]


def test_the_refund_that_completes_a_full_refund_cancels_the_unshipped_order(app: Backroom,
                                                                            client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("paid"), "evt-1")
    deliver(app, client, "refunds/create", shopify_refund(501, 1, "20.00"), "evt-2")
    deliver(app, client, "refunds/create", shopify_refund(502, 1, "20.00"), "evt-3")

    assert order_row(app) == ("cancelled", "refunded", [])
    assert stock(app) == [("LAMP", 5, 0), ("LAMP", 0, 0)]  # released
    assert [r[0] for r in rows(app, "SELECT refund_id FROM order_refunds ORDER BY id")] == ["501", "502"]
    (first, second) = decisions(app, "platform_refund")
    assert second == ("refund:shopify:502", {
        "refunds": [{"id": "502", "amount": "20.00", "currency": "GBP", "reason": "damaged in transit",
                     "restocked": True, "lines": [["LAMP", 1, True]]}],
        "refunded_before": ["501"], "order_total": "40.00", "currency": "GBP", "whole_order": False},
        {"outcome": "cancelled: fully refunded", "fully_refunded": True, "payment_state": "refunded",
         "status": "cancelled"})
    assert first[2] == {"outcome": "partly refunded", "fully_refunded": False, "payment_state": "paid",
                        "status": "fulfillment_requested"}
    assert events(app, "order_cancelled") == [{"order_number": "#1001", "reason": "refunded in shopify",
                                               "actor": "shopify"}]
    # the platform refunded it: it is not told to cancel what it cancelled itself
    assert scalar(app, "SELECT count(*) FROM effects WHERE kind = 'platform_cancel'") == 0


def test_a_refund_is_recorded_once_per_platform_id_whatever_the_deliveries(app: Backroom,
                                                                           client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("paid"), "evt-1")
    refund = shopify_refund(777, 2, "40.00")
    deliver(app, client, "refunds/create", refund, "evt-2")
    again = deliver(app, client, "refunds/create", refund, "evt-2")  # the same delivery
    deliver(app, client, "refunds/create", refund, "evt-3")  # the same refund under another delivery id

    assert again["outcome"] == "duplicate"
    assert rows(app, "SELECT refund_id, amount::text FROM order_refunds") == [("777", "40.00")]
    assert decisions(app, "platform_refund") == [("refund:shopify:777", {
        "refunds": [{"id": "777", "amount": "40.00", "currency": "GBP", "reason": "damaged in transit",
                     "restocked": True, "lines": [["LAMP", 2, True]]}],
        "refunded_before": [], "order_total": "40.00", "currency": "GBP", "whole_order": False},
        {"outcome": "cancelled: fully refunded", "fully_refunded": True, "payment_state": "refunded",
         "status": "cancelled"})]
    assert events(app, "order_refunded") == [{"order_number": "#1001", "amount": "40.00", "currency": "GBP",
                                              "full": True, "refund_ids": ["777"]}]
    assert order_row(app) == ("cancelled", "refunded", [])


def test_a_full_refund_of_a_shipped_order_does_not_cancel_it(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order("paid"), "evt-1")
    deliver(app, client, "fulfillments/create", {"id": 1, "order_id": ORDER_ID, "tracking_company": "UPS",
                                                 "tracking_number": "1Z"}, "evt-2")
    deliver(app, client, "refunds/create", shopify_refund(601, 2, "40.00"), "evt-3")

    assert order_row(app) == ("shipped", "refunded", [])
    assert stock(app) == [("LAMP", 3, 0), ("LAMP", 0, 0)]  # shipped stock stays shipped: returns come later
    assert [d[2] for d in decisions(app, "platform_refund")] == [
        {"outcome": "refunded after the order shipped", "fully_refunded": True, "payment_state": "refunded",
         "status": "shipped"}]


def test_a_refund_of_an_order_backroom_never_saw_records_nothing(app: Backroom, client: TestClient) -> None:
    deliver(app, client, "refunds/create", shopify_refund(1, 1, "5.00"), "evt-1")
    assert scalar(app, "SELECT count(*) FROM order_refunds") == 0
    assert inbox(app) == [("evt-1", "refunds/create", "processed", None)]


def test_woocommerce_refunds_partial_then_in_full(app: Backroom, client: TestClient, shared_data: Any) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    order = json.loads((shared_data / "connectors/woocommerce_rest_v3/json_examples/orders__retrieve_an_order.json")
                       .read_text())
    order["line_items"] = [{"id": 1, "name": "Lamp", "product_id": 7, "quantity": 1, "sku": "LAMP", "price": 20}]
    order["shipping"] = {**order["shipping"], "country": "GB", "postcode": "SW1A 2AA", "city": "London", "state": ""}
    deliver_woo(app, client, "order.created", order, "d-1")
    partial = [{"id": 726, "reason": "scratched", "total": "-5.00"}]
    deliver_woo(app, client, "order.updated", {**order, "refunds": partial}, "d-2")
    assert order_row(app) == ("fulfillment_requested", "paid", [])

    full = [*partial, {"id": 727, "reason": "", "total": "-24.35"}]
    deliver_woo(app, client, "order.updated", {**order, "status": "refunded", "refunds": full}, "d-3")

    assert rows(app, "SELECT refund_id, amount::text, currency, reason FROM order_refunds ORDER BY id") == [
        ("726", "5.00", "USD", "scratched"), ("727", "24.35", "USD", "")]
    assert order_row(app) == ("cancelled", "refunded", [])
    assert stock(app) == [("LAMP", 5, 0), ("LAMP", 0, 0)]
