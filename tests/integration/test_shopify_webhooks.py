"""Shopify webhooks over HTTP on real PostgreSQL: verified, recorded once per event id and answered as soon as the
delivery is durable, then mapped to our commands by the inbox processor; the rest ignored with a reason; bad
signatures and bad payloads answered 4xx and kept for inspection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import HttpReceiver, TestClient, api_client, rows, scalar, seed_catalog

from backroom.bootstrap import Backroom
from backroom.config import ShopifySettings
from backroom.entrypoints.api.app import create_app
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

SECRET = "shpss_app_secret"
SHOP = "acme.myshopify.com"


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=ShopifySettings(webhook_secret=SecretStr(SECRET), shops={SHOP: "default"})) as c:
        yield c


def shopify_order(number: int, sku: str = "LAMP", quantity: int = 1, gid: int | None = None) -> dict[str, Any]:
    gid = gid or 9_007_199_254_740_993 + number  # above 2^53, as real Shopify ids are
    address = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 High Street", "city": "London",
               "zip": "SW1A 2AA", "country_code": "GB", "province_code": ""}
    return {"id": gid, "admin_graphql_api_id": f"gid://shopify/Order/{gid}", "name": f"#{number}",
            "email": f"buyer{number}@example.com", "currency": "GBP", "financial_status": "paid",
            "created_at": "2026-11-27T09:00:00+00:00", "shipping_address": address, "billing_address": address,
            "line_items": [{"id": 1, "sku": sku, "quantity": quantity, "price": "20.00", "title": "Lamp"}]}


def send(client: TestClient, topic: str, payload: dict[str, Any] | bytes, event_id: str, *,
         secret: str = SECRET, shop: str = SHOP) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post("/webhooks/shopify", content=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Event-Id": event_id, "X-Shopify-Webhook-Id": f"wh-{event_id}", "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Hmac-Sha256": sign(secret, body)})
    return response.status_code, response.json()


def test_an_order_delivered_three_times_is_imported_once_then_cancelled(
        app: Backroom, client: TestClient, warehouse: HttpReceiver) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    order = shopify_order(1001, quantity=2)
    first = send(client, "orders/create", order, "evt-1")
    again = send(client, "orders/create", order, "evt-1")
    updated = send(client, "orders/updated", order, "evt-2")
    cancelled = send(client, "orders/cancelled", {**order, "cancel_reason": "customer"}, "evt-3")
    app.process_inbox()
    app.drain()

    assert first == (200, {"source_id": "evt-1", "topic": "orders/create", "outcome": "accepted",
                           "detail": "received"})
    assert again == (200, {"source_id": "evt-1", "topic": "orders/create", "outcome": "duplicate", "detail": ""})
    assert updated == (200, {"source_id": "evt-2", "topic": "orders/updated", "outcome": "accepted",
                             "detail": "received"})
    assert cancelled == (200, {"source_id": "evt-3", "topic": "orders/cancelled", "outcome": "accepted",
                               "detail": "received"})
    assert rows(app, "SELECT external_id, number, status FROM orders") == [("9007199254741994", "#1001", "cancelled")]
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 0
    # cancelled before a worker ran the request: it was withdrawn unsent, so the warehouse never heard of it
    assert warehouse.bodies() == []
    assert rows(app, "SELECT kind, status FROM effects WHERE kind LIKE 'fulfillment%'") == [
        ("fulfillment_request", "cancelled")]
    assert rows(app, "SELECT source_id, kind, status FROM inbox ORDER BY id") == [
        ("evt-1", "orders/create", "processed"), ("evt-2", "orders/updated", "processed"),
        ("evt-3", "orders/cancelled", "processed")]


def test_a_fulfillment_made_in_shopify_ships_the_order(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    order = shopify_order(1002)
    send(client, "orders/create", order, "evt-1")
    status, reply = send(client, "fulfillments/create", {
        "id": 1, "order_id": order["id"], "tracking_company": "UPS", "tracking_number": "1Z999",
        "tracking_url": "https://ups.example/1Z999"}, "evt-2")
    unknown = send(client, "fulfillments/create", {"id": 2, "order_id": 123, "tracking_number": "X"}, "evt-3")
    app.process_inbox()

    assert (status, reply) == (200, {"source_id": "evt-2", "topic": "fulfillments/create", "outcome": "accepted",
                                     "detail": "received"})
    assert unknown == (200, {"source_id": "evt-3", "topic": "fulfillments/create", "outcome": "accepted",
                             "detail": "received"})
    assert rows(app, "SELECT o.status, s.carrier, s.tracking_number FROM orders o JOIN shipments s"
                     " ON s.order_id = o.id") == [("shipped", "UPS", "1Z999")]
    # a shipment of an order backroom does not know changes nothing, and its delivery is done with
    assert rows(app, "SELECT source_id, status, error FROM inbox ORDER BY id") == [
        ("evt-1", "processed", None), ("evt-2", "processed", None), ("evt-3", "processed", None)]


def test_topics_backroom_does_not_act_on_are_acknowledged_and_kept_with_the_reason(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    body = (shared_data / "connectors/shopify_webhooks/trigger_dev_payload_examples/Product.json").read_bytes()
    status, reply = send(client, "products/update", body, "evt-p")
    assert (status, reply) == (200, {"source_id": "evt-p", "topic": "products/update", "outcome": "ignored",
                                     "detail": "nothing in the back office acts on it"})
    assert rows(app, "SELECT kind, status, error FROM inbox") == [
        ("products/update", "processed", "ignored: nothing in the back office acts on it")]
    assert scalar(app, "SELECT count(*) FROM orders") == 0


def test_a_wrong_signature_is_401_kept_and_changes_nothing(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    status, reply = send(client, "orders/create", shopify_order(1003), "evt-x", secret="not the secret")
    assert (status, reply) == (401, {"error": "signature_invalid",
                                     "message": "X-Shopify-Hmac-Sha256 is missing or does not match the body"})
    assert rows(app, "SELECT source_id, status, error FROM inbox") == [("evt-x", "rejected", "signature_invalid")]
    assert scalar(app, "SELECT count(*) FROM orders") == 0
    # the genuine delivery under the same id is still accepted, and imported
    assert send(client, "orders/create", shopify_order(1003), "evt-x")[1]["outcome"] == "accepted"
    app.process_inbox()
    assert rows(app, "SELECT source_id, status, error FROM inbox") == [("evt-x", "processed", None)]
    assert rows(app, "SELECT number, status FROM orders") == [("#1003", "fulfillment_requested")]


def test_a_payload_we_cannot_use_is_400_and_kept(app: Backroom, client: TestClient) -> None:
    status, reply = send(client, "orders/create", {"id": 1, "name": "#1", "currency": "GBP"}, "evt-bad")
    assert (status, reply["error"]) == (400, "invalid_order")
    assert rows(app, "SELECT source_id, status, left(error, 40) FROM inbox") == [
        ("evt-bad", "rejected", "invalid_order: Shopify order #1: email: ")]


def test_webhooks_are_refused_until_a_secret_is_configured(app: Backroom) -> None:
    with TestClient(create_app(app)) as c:
        status, reply = send(c, "orders/create", shopify_order(1), "evt-1")
    assert (status, reply) == (503, {"error": "shopify_not_configured",
                                     "message": "Shopify webhooks are disabled: set BACKROOM_SHOPIFY__WEBHOOK_SECRET"})
    assert scalar(app, "SELECT count(*) FROM inbox") == 0


def test_an_unlisted_shop_feeds_the_store_named_after_it(app: Backroom, client: TestClient) -> None:
    status, reply = send(client, "orders/create", shopify_order(1004, sku="UNKNOWN"), "evt-1",
                         shop="other-shop.myshopify.com")
    app.process_inbox()
    assert (status, reply) == (200, {"source_id": "evt-1", "topic": "orders/create", "outcome": "accepted",
                                     "detail": "received"})
    assert rows(app, "SELECT s.slug, o.number, o.status FROM orders o JOIN stores s ON s.id = o.store_id") == [
        ("other-shop", "#1004", "on_hold")]


def test_a_delivery_that_names_no_shop_is_400_and_kept_in_the_default_store(app: Backroom, client: TestClient) -> None:
    status, reply = send(client, "orders/create", shopify_order(1005), "evt-1", shop="")
    assert (status, reply) == (400, {"error": "invalid_shop",
                                     "message": "X-Shopify-Shop-Domain is missing or not a shop domain"})
    assert rows(app, "SELECT s.slug, i.source_id, i.status, i.error FROM inbox i JOIN stores s ON s.id = i.store_id"
                ) == [("default", "evt-1", "rejected", "invalid_shop")]
    assert scalar(app, "SELECT count(*) FROM orders") == 0
