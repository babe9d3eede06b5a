"""What Shopify reports besides new orders (payments, refunds, checkouts, customers, inventory), mapped from
Shopify's own sample payloads (../shared/data/connectors) to exactly the commands backroom runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backroom.connectors.shopify.mapping import map_webhook, order_command
from backroom.customers.model import MarketingConsent
from backroom.errors import InvalidInput
from backroom.orders import commands
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.payments import Refund, RefundLine

SAMPLES = Path("connectors/shopify_webhooks/trigger_dev_payload_examples")
EASTERN = timezone(timedelta(hours=-5))
SAMPLE_TIME = datetime(2021, 12, 31, 19, 0, tzinfo=EASTERN)


def sample(shared: Path, name: str) -> bytes:
    return (shared / SAMPLES / name).read_bytes()


def sample_json(shared: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sample(shared, name))
    return data


@pytest.mark.parametrize("topic", ["orders/paid", "orders/updated"])
def test_a_payment_report_carries_the_whole_order_as_shopify_sees_it(shared_data: Path, topic: str) -> None:
    mapped = map_webhook(topic, sample(shared_data, "Order.json"), "shopify:evt-1")
    assert mapped == commands.RecordPayment(order_command(sample_json(shared_data, "Order.json"), "shopify:evt-1"))


def test_an_order_names_the_checkout_it_completes() -> None:
    payload = {"id": 1, "name": "#1", "email": "a@example.com", "currency": "GBP", "financial_status": "paid",
               "created_at": "2026-11-27T10:00:00Z", "checkout_token": "tok-42",
               "shipping_address": {"name": "A", "address1": "1 St", "city": "London", "zip": "SW1A 2AA",
                                    "country_code": "GB"},
               "line_items": [{"sku": "MUG", "quantity": 1, "price": "5.00", "title": "Mug"}]}
    assert order_command(payload).checkout_token == "tok-42"


def test_the_sample_refund_maps_to_its_lines_and_the_value_of_its_lines(shared_data: Path) -> None:
    # no transactions in Shopify's sample: the refund is worth its lines (2 × 199.00, no tax); nothing restocked
    assert map_webhook("refunds/create", sample(shared_data, "Refund.json")) == commands.RecordRefunds(
        "shopify", "820982911946154500", (Refund(
            "890088186047892319", Decimal("398.00"), "USD", "Things were damaged",
            (RefundLine("IPOD2008PINK", 1, False), RefundLine("IPOD2008PINK", 1, False)), None),))


def test_a_refund_is_worth_what_its_successful_transactions_paid_back(shared_data: Path) -> None:
    payload = sample_json(shared_data, "Refund.json")
    payload["processed_at"] = "2026-11-28T10:00:00Z"
    payload["refund_line_items"][0]["restock_type"] = "return"
    payload["transactions"] = [
        {"kind": "refund", "status": "success", "amount": "150.50", "currency": "USD"},
        {"kind": "refund", "status": "failure", "amount": "398.00", "currency": "USD"},
        {"kind": "refund", "status": "success", "amount": 10, "currency": "USD"}]
    mapped = map_webhook("refunds/create", json.dumps(payload).encode())
    assert isinstance(mapped, commands.RecordRefunds)
    (refund,) = mapped.refunds
    assert (refund.amount, refund.currency, refund.refunded_at) == (
        Decimal("160.50"), "USD", datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    assert refund.lines == (RefundLine("IPOD2008PINK", 1, True), RefundLine("IPOD2008PINK", 1, False))
    assert refund.restocked


@pytest.mark.parametrize("topic", ["checkouts/create", "checkouts/update"])
def test_the_sample_checkout_keeps_what_an_abandoned_cart_flow_needs(shared_data: Path, topic: str) -> None:
    line = CheckoutLine("IPOD2008PINK", 1, Decimal("199.00"), "IPod Nano - 8GB")
    assert map_webhook(topic, sample(shared_data, "CheckoutsCreate.json")) == commands.RecordCheckout(
        channel="shopify", external_id="981820079255243500", token="123123123", email="example@email.com",
        customer_name="John Smith", currency="USD", total=Decimal("398.00"), lines=(line, line),
        recovery_url="https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token",
        started_at=SAMPLE_TIME, updated_at=SAMPLE_TIME, completed_at=None)


def test_a_completed_checkout_says_when(shared_data: Path) -> None:
    payload = {**sample_json(shared_data, "CheckoutsCreate.json"), "completed_at": "2022-01-01T09:30:00Z"}
    mapped = map_webhook("checkouts/update", json.dumps(payload).encode())
    assert isinstance(mapped, commands.RecordCheckout)
    assert mapped.completed_at == datetime(2022, 1, 1, 9, 30, tzinfo=UTC)


def test_a_checkout_deletion_names_only_the_checkout(shared_data: Path) -> None:
    assert map_webhook("checkouts/delete", sample(shared_data, "CheckoutsDelete.json")) == commands.DeleteCheckout(
        "shopify", "981820079255243500")


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_the_sample_customer_maps_with_its_legacy_consent(shared_data: Path, topic: str) -> None:
    # email_marketing_consent is null in the sample: accepts_marketing (true) decides, and
    # accepts_marketing_updated_at says when the consent last changed (the same moment as the update here)
    assert map_webhook(topic, sample(shared_data, "CustomersCreate.json")) == commands.RecordCustomer(
        "shopify", "706405506930370084", "bob@biller.com", "Bob Biller", MarketingConsent.SUBSCRIBED, SAMPLE_TIME,
        SAMPLE_TIME)


@pytest.mark.parametrize(("consent", "accepts", "expected"), [
    ({"state": "not_subscribed"}, True, MarketingConsent.NOT_SUBSCRIBED),  # the current field wins
    ({"state": "unsubscribed"}, None, MarketingConsent.UNSUBSCRIBED),
    ({"state": "pending"}, None, MarketingConsent.PENDING),
    ({"state": "redacted"}, None, MarketingConsent.UNSUBSCRIBED),
    (None, False, MarketingConsent.NOT_SUBSCRIBED),
    (None, None, MarketingConsent.UNKNOWN),
])
def test_marketing_consent_reads_the_current_field_before_the_legacy_one(
        shared_data: Path, consent: dict[str, str] | None, accepts: bool | None, expected: MarketingConsent) -> None:
    payload = {**sample_json(shared_data, "CustomersCreate.json"), "email_marketing_consent": consent,
               "accepts_marketing": accepts}
    mapped = map_webhook("customers/update", json.dumps(payload).encode())
    assert isinstance(mapped, commands.RecordCustomer)
    assert mapped.marketing_consent == expected


def test_when_the_consent_last_changed_is_read_from_the_current_field_first(shared_data: Path) -> None:
    payload = {**sample_json(shared_data, "CustomersCreate.json"), "email_marketing_consent": {
        "state": "subscribed", "consent_updated_at": "2026-11-27T11:00:00Z"}}
    mapped = map_webhook("customers/update", json.dumps(payload).encode())
    assert isinstance(mapped, commands.RecordCustomer)
    assert mapped.consent_updated_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("topic", ["inventory_items/create", "inventory_items/update"])
def test_an_inventory_item_says_which_sku_it_is(shared_data: Path, topic: str) -> None:
    # the numeric id was rounded by a float round-trip in the sample; the GraphQL id keeps the real one
    assert map_webhook(topic, sample(shared_data, "InventoryItem.json")) == commands.RecordPlatformItem(
        "shopify", "271878346596884015", "example-sku")


def test_the_sample_inventory_level_is_an_untracked_item_at_a_location(shared_data: Path) -> None:
    assert map_webhook("inventory_levels/update", sample(shared_data, "InventoryLevel.json")) == (
        commands.RecordPlatformStock("shopify", "271878346596884015", "24826418", None, SAMPLE_TIME))


def test_a_tracked_level_without_a_graphql_id_keeps_its_exact_item_id() -> None:
    body = (b'{"inventory_item_id": 9007199254740993, "location_id": 7, "available": -2,'
            b' "updated_at": "2026-11-27T09:00:00Z"}')
    assert map_webhook("inventory_levels/update", body) == commands.RecordPlatformStock(
        "shopify", "9007199254740993", "7", -2, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize(("topic", "body", "message"), [
    ("refunds/create", b'{"id": 1, "order_id": 2, "refund_line_items": [{"quantity": "x", "line_item": {}}]}',
     "payload has no usable Shopify refund line quantity: 'x'"),
    ("checkouts/update", b'{"id": 3, "created_at": "yesterday", "line_items": []}',
     "payload has no usable Shopify checkout created_at: 'yesterday'"),
    ("inventory_levels/update", b'{"inventory_item_id": 4, "location_id": 5, "available": 1.5}',
     "payload has no usable Shopify available: '1.5'"),
    ("inventory_levels/update", b'{"inventory_item_id": 4, "location_id": 5, "available": "--2"}',
     "payload has no usable Shopify available: '--2'"),
    ("customers/update", b'{"email": "a@example.com"}', "payload has no usable Shopify customer id"),
])
def test_payloads_that_cannot_be_read_exactly_are_refused_naming_the_field(topic: str, body: bytes,
                                                                           message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        map_webhook(topic, body)
    assert caught.value.code == "invalid_payload"
    assert caught.value.message == message
