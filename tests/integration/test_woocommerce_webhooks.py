"""WooCommerce webhooks over HTTP on real PostgreSQL: the creation ping, verified deliveries recorded once per
delivery id and answered once durable, orders imported after the reply, status changes followed, bad signatures kept
and refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import TestClient, api_client, rows, scalar, seed_catalog

from backroom.bootstrap import Backroom
from backroom.config import WooCommerceSettings
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

SECRET = "wc-webhook-secret"


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, woocommerce=WooCommerceSettings(webhook_secret=SecretStr(SECRET),
                                                         sites={"shop.example.com": "default"})) as c:
        yield c


def documented_order(shared: Path, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(
        (shared / "connectors/woocommerce_rest_v3/json_examples/orders__retrieve_an_order.json").read_text())
    order["line_items"] = [{"id": 1, "name": "Lamp", "product_id": 7, "quantity": 1, "sku": "LAMP", "price": 20}]
    order["shipping"] = {**order["shipping"], "country": "GB", "postcode": "SW1A 2AA", "city": "London", "state": ""}
    return {**order, **changes}


def send(client: TestClient, topic: str, payload: dict[str, Any], delivery_id: str, *,
         secret: str = SECRET) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/woocommerce", content=body, headers={
        "Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Signature": sign(secret, body)})
    return response.status_code, response.json()


def test_the_creation_ping_is_answered_and_records_nothing(app: Backroom, client: TestClient) -> None:
    response = client.post("/webhooks/woocommerce", content=b"webhook_id=15",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.json()) == (200, {"source_id": "", "topic": "ping", "outcome": "ping",
                                                             "detail": "webhook reachable"})
    assert scalar(app, "SELECT count(*) FROM inbox") == 0


def test_an_order_is_imported_once_and_follows_its_status(app: Backroom, client: TestClient,
                                                          shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    created = send(client, "order.created", documented_order(shared_data), "d-1")
    repeat = send(client, "order.created", documented_order(shared_data), "d-1")
    on_hold = send(client, "order.updated", documented_order(shared_data, status="on-hold"), "d-2")
    done = send(client, "order.updated", documented_order(shared_data, status="completed"), "d-3")
    app.process_inbox()

    assert created == (200, {"source_id": "d-1", "topic": "order.created", "outcome": "accepted",
                             "detail": "received"})
    assert repeat == (200, {"source_id": "d-1", "topic": "order.created", "outcome": "duplicate", "detail": ""})
    assert on_hold == (200, {"source_id": "d-2", "topic": "order.updated", "outcome": "accepted",
                             "detail": "received"})
    assert done == (200, {"source_id": "d-3", "topic": "order.updated", "outcome": "accepted", "detail": "received"})
    assert rows(app, "SELECT channel, external_id, number, status FROM orders") == [
        ("woocommerce", "727", "#727", "shipped")]
    assert rows(app, "SELECT source_id, status FROM inbox ORDER BY id") == [
        ("d-1", "processed"), ("d-2", "processed"), ("d-3", "processed")]


def test_a_cancellation_in_woocommerce_releases_the_stock(app: Backroom, client: TestClient,
                                                          shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    send(client, "order.created", documented_order(shared_data), "d-1")
    status, reply = send(client, "order.updated", documented_order(shared_data, status="cancelled"), "d-2")
    app.process_inbox()
    assert (status, reply) == (200, {"source_id": "d-2", "topic": "order.updated", "outcome": "accepted",
                                     "detail": "received"})
    assert scalar(app, "SELECT status FROM orders") == "cancelled"
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 0


def test_a_wrong_signature_is_401_and_kept(app: Backroom, client: TestClient, shared_data: Path) -> None:
    status, reply = send(client, "order.created", documented_order(shared_data), "d-9", secret="wrong")
    assert (status, reply) == (401, {"error": "signature_invalid",
                                     "message": "X-WC-Webhook-Signature is missing or does not match the body"})
    assert rows(app, "SELECT source, source_id, status, error FROM inbox") == [
        ("woocommerce", "d-9", "rejected", "signature_invalid")]
    assert scalar(app, "SELECT count(*) FROM orders") == 0


def test_a_delivery_that_names_no_site_is_400_and_kept_in_the_default_store(app: Backroom, client: TestClient) -> None:
    body = b'{"id": 1}'
    response = client.post("/webhooks/woocommerce", content=body, headers={
        "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "d-1",
        "X-WC-Webhook-Signature": sign(SECRET, body)})
    assert (response.status_code, response.json()) == (400, {
        "error": "invalid_site", "message": "X-WC-Webhook-Source is missing or not a site URL"})
    assert rows(app, "SELECT s.slug, i.source_id, i.status, i.error FROM inbox i JOIN stores s ON s.id = i.store_id"
                ) == [("default", "d-1", "rejected", "invalid_site")]
