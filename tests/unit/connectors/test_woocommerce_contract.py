"""Contract tests over WooCommerce's documented examples (../shared/data/connectors/woocommerce_rest_v3) and its
published signature vector: orders map to our commands, the ping is recognised, tampering fails."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.connectors.ignored import Ignored
from backroom.connectors.woocommerce import manifest
from backroom.connectors.woocommerce.mapping import map_webhook, order_command
from backroom.connectors.woocommerce.webhooks import delivery, is_ping, verify
from backroom.errors import InvalidInput
from backroom.orders import commands
from backroom.orders.model import PaymentState
from backroom.shared.hashing import sign

EXAMPLES = Path("connectors/woocommerce_rest_v3/json_examples")


def example(shared: Path, name: str) -> bytes:
    return (shared / EXAMPLES / name).read_bytes()


def test_every_documented_order_example_maps_to_an_import(shared_data: Path) -> None:
    names = sorted(p.name for p in (shared_data / EXAMPLES).glob("orders__*.json") if "batch" not in p.name
                   and "list" not in p.name)
    assert names == ["orders__create_an_order.json", "orders__delete_an_order.json", "orders__retrieve_an_order.json",
                     "orders__update_an_order.json"]
    for name in names:
        mapped = map_webhook("order.created", example(shared_data, name))
        assert isinstance(mapped, commands.ImportOrders), name
        assert mapped.orders[0].external_id == "727"


def test_the_documented_order_maps_field_by_field(shared_data: Path) -> None:
    mapped = map_webhook("order.created", example(shared_data, "orders__retrieve_an_order.json"), "woocommerce:d1")
    assert isinstance(mapped, commands.ImportOrders)
    (order,) = mapped.orders
    assert (order.channel, order.external_id, order.number, order.email, order.currency) == (
        "woocommerce", "727", "#727", "john.doe@example.com", "USD")
    assert order.payment_state == PaymentState.PAID  # status processing
    assert (order.shipping_address.city, order.shipping_address.area, order.shipping_address.postal_code) == (
        "San Francisco", "CA", "94103")
    assert order.billing_address is not None
    assert order.billing_address.phone == "(555) 555-5555"
    # a line without a SKU is kept under its product id; HTML entities in names are decoded; prices to the cent
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.title) for ln in order.lines] == [
        ("woocommerce-product-93", 2, Decimal("3.00"), "Woo Single #1"),
        ("Bar3", 1, Decimal("12.00"), "Ship Your Idea – Color: Black, Size: M Test")]
    assert order.placed_at.isoformat() == "2017-03-22T19:28:02+00:00"  # date_created_gmt, which is UTC


@pytest.mark.parametrize(("status", "expected"), [
    ("cancelled", commands.CancelOrderByReference("woocommerce", "727", "cancelled in WooCommerce", "woocommerce")),
    ("refunded", commands.RecordRefunds("woocommerce", "727", (), whole_order=True)),
    ("completed", commands.RecordShipmentByReference("woocommerce", "727", "", "")),
])
def test_an_order_update_follows_its_status(shared_data: Path, status: str, expected: object) -> None:
    payload = json.loads(example(shared_data, "orders__retrieve_an_order.json"))
    assert map_webhook("order.updated", json.dumps({**payload, "status": status}).encode()) == expected


@pytest.mark.parametrize(("status", "payment"), [("processing", PaymentState.PAID), ("on-hold", PaymentState.PENDING),
                                                 ("failed", PaymentState.FAILED)])
def test_other_updates_report_the_payment_their_status_means(shared_data: Path, status: str,
                                                             payment: PaymentState) -> None:
    payload = json.loads(example(shared_data, "orders__retrieve_an_order.json"))
    mapped = map_webhook("order.updated", json.dumps({**payload, "status": status}).encode(), "woocommerce:d1")
    assert isinstance(mapped, commands.RecordPayment)
    assert mapped == commands.RecordPayment(order_command({**payload, "status": status}, "woocommerce:d1"))
    assert (mapped.order.external_id, mapped.order.payment_state) == ("727", payment)


def test_topics_not_acted_on_are_ignored_with_a_reason(shared_data: Path) -> None:
    body = example(shared_data, "products__retrieve_a_product.json")
    assert map_webhook("product.updated", body) == Ignored("product.updated", manifest.IGNORED["product.updated"])
    assert manifest.classify("order.deleted") == (False, manifest.IGNORED["order.deleted"])


def test_the_published_signature_vector_verifies_and_tampering_fails(shared_data: Path) -> None:
    vectors = json.loads((shared_data / "connectors/webhook_signatures/hmac_test_vectors.json").read_text())
    (vector,) = [v for v in vectors if v["platform"] == "woocommerce"]
    headers = {"X-WC-Webhook-Signature": vector["expected"], "X-WC-Webhook-Delivery-ID": "d-1",
               "X-WC-Webhook-Topic": "Order.Created", "X-WC-Webhook-Source": "https://shop.example.com/"}
    body = vector["body"].encode()
    assert sign(vector["secret"], body) == vector["expected"]  # the algorithm matches WooCommerce's own test
    assert not verify("", body, headers)  # ... but an empty secret never verifies anything here
    signed = {**headers, "X-WC-Webhook-Signature": sign("wc-secret", body)}
    assert verify("wc-secret", body, signed)
    assert not verify("wc-secret", body + b" ", signed)
    assert not verify("other", body, signed)
    assert delivery(headers).topic == "order.created"
    assert delivery(headers).delivery_id == "d-1"


def test_the_creation_ping_is_recognised_only_when_unsigned() -> None:
    assert is_ping(b"webhook_id=15", {"Content-Type": "application/x-www-form-urlencoded"})
    assert not is_ping(b"webhook_id=15", {"X-WC-Webhook-Signature": "x"})
    assert not is_ping(b'{"id": 1}', {})


def test_an_order_without_email_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput) as caught:
        map_webhook("order.created", b'{"id": 5, "number": "5", "currency": "EUR", "billing": {}, "line_items": []}')
    assert caught.value.message.startswith("WooCommerce order #5: email:")
