"""Contract tests over Shopify's own documented material (../shared/data/connectors): every sample topic is either
mapped to one of our commands or ignored with a stated reason, and the published signature vectors verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from backroom.connectors.ignored import Ignored
from backroom.connectors.shopify import manifest
from backroom.connectors.shopify.mapping import map_webhook, order_command
from backroom.connectors.shopify.webhooks import delivery, verify
from backroom.errors import InvalidInput
from backroom.orders import commands
from backroom.orders.model import PaymentState

SAMPLES = Path("connectors/shopify_webhooks/trigger_dev_payload_examples")


def topics(shared: Path) -> dict[str, str | None]:
    data: dict[str, str | None] = json.loads((shared / SAMPLES / "_topic_to_file.json").read_text())
    return data


def test_every_documented_topic_is_mapped_or_ignored_with_a_reason(shared_data: Path) -> None:
    seen: dict[str, str] = {}
    for topic, file in sorted(topics(shared_data).items()):
        subscribed, why = manifest.classify(topic)
        assert why != "unknown topic", topic
        if file is None:  # documented without a sample body
            assert not subscribed, topic
            continue
        mapped = map_webhook(topic, (shared_data / SAMPLES / file).read_bytes())
        seen[topic] = type(mapped).__name__
        if subscribed:
            assert not isinstance(mapped, Ignored), topic
        else:
            assert mapped == Ignored(topic, why)
    assert {t: c for t, c in seen.items() if c != "Ignored"} == {
        "fulfillments/create": "RecordShipmentByReference", "orders/cancelled": "CancelOrderByReference",
        "orders/create": "ImportOrders", "orders/paid": "RecordPayment", "orders/updated": "RecordPayment",
        "refunds/create": "RecordRefunds", "checkouts/create": "RecordCheckout", "checkouts/update": "RecordCheckout",
        "checkouts/delete": "DeleteCheckout", "customers/create": "RecordCustomer",
        "customers/update": "RecordCustomer",
        "inventory_items/create": "RecordPlatformItem", "inventory_items/update": "RecordPlatformItem",
        "inventory_levels/update": "RecordPlatformStock"}
    assert set(manifest.SUBSCRIBED) <= set(seen)


def test_the_sample_order_maps_field_by_field(shared_data: Path) -> None:
    payload: dict[str, Any] = json.loads((shared_data / SAMPLES / "Order.json").read_text())
    order = order_command(payload, "shopify:evt-1")
    # the sample's numeric id was rounded by a float round-trip; the GraphQL id keeps the real one
    assert payload["id"] == 820982911946154500
    assert order.external_id == "820982911946154508"
    assert (order.channel, order.number, order.email, order.currency) == ("shopify", "#9999", "jon@example.com", "USD")
    assert order.payment_state == PaymentState.VOIDED
    assert (order.shipping_address.country, order.shipping_address.postal_code, order.shipping_address.area) == (
        "US", "40003", "KY")
    assert [(ln.sku, ln.quantity, str(ln.unit_price)) for ln in order.lines] == [
        ("IPOD2008PINK", 1, "199.00"), ("IPOD2008PINK", 1, "199.00")]
    assert order.placed_at.isoformat() == "2021-12-31T19:00:00-05:00"
    assert order.source_ref == "shopify:evt-1"


def test_exact_64_bit_ids_survive_where_no_graphql_id_is_given() -> None:
    body = b'{"order_id": 9007199254740993, "tracking_company": "UPS", "tracking_number": "1Z"}'
    mapped = map_webhook("fulfillments/create", body)
    assert mapped == commands.RecordShipmentByReference("shopify", "9007199254740993", "UPS", "1Z", "")


def test_a_line_without_a_sku_is_kept_under_its_variant() -> None:
    payload = {"id": 1, "name": "#1", "email": "a@example.com", "currency": "GBP", "financial_status": "paid",
               "created_at": "2026-11-27T10:00:00Z",
               "shipping_address": {"name": "A", "address1": "1 St", "city": "London", "zip": "SW1A 2AA",
                                    "country_code": "GB"},
               "line_items": [{"sku": "", "variant_id": 42, "quantity": 2, "price": "5.00", "title": "Mug"},
                              {"sku": "GIFT", "quantity": 1, "price": "10.00", "title": "Card",
                               "requires_shipping": False}]}
    order = order_command(payload)
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("shopify-variant-42", 2)]
    assert order.payment_state == PaymentState.PAID


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "body is not JSON"),
    (b"[1, 2]", "body is not a JSON object"),
    (b'{"id": 1, "name": "#1", "currency": "GBP", "line_items": []}', "Shopify order #1: email:"),
])
def test_bad_payloads_are_refused_clearly(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        map_webhook("orders/create", body)
    assert caught.value.message.startswith(message)


def test_the_published_signature_vectors_verify_and_tampering_fails(shared_data: Path) -> None:
    vectors = json.loads((shared_data / "connectors/webhook_signatures/hmac_test_vectors.json").read_text())
    (vector,) = [v for v in vectors if v["name"] == "shopify_webhook_body_hmac"]
    body = vector["body"].encode()
    headers = {**vector["other_headers_in_test"], "X-Shopify-Hmac-Sha256": vector["expected"]}
    assert verify(vector["secret"], body, headers)
    assert not verify(vector["secret"], body + b" ", headers)
    assert not verify("another secret", body, headers)
    assert not verify(vector["secret"], body, {**headers, "X-Shopify-Hmac-Sha256": ""})
    assert delivery(headers).delivery_id == "123456789"  # no event id in this test: the webhook id
    assert delivery({**headers, "X-Shopify-Event-Id": "evt-9"}).delivery_id == "evt-9"
    expected = base64.b64encode(hmac.new(b"test_secret_key", body, hashlib.sha256).digest()).decode()
    assert expected == vector["expected"]
