"""What WooCommerce reports besides new orders (refunds on an order, customers), mapped from WooCommerce's own
documented examples (../shared/data/connectors/woocommerce_rest_v3) to exactly the commands backroom runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backroom.connectors.woocommerce import manifest
from backroom.connectors.woocommerce.mapping import map_webhook
from backroom.customers.model import MarketingConsent
from backroom.orders import commands
from backroom.orders.payments import Refund

EXAMPLES = Path("connectors/woocommerce_rest_v3/json_examples")


def example(shared: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / EXAMPLES / name).read_bytes())
    return data


def updated(shared: Path, **changes: Any) -> bytes:
    return json.dumps({**example(shared, "orders__retrieve_an_order.json"), **changes}).encode()


REFUNDS = [{"id": 726, "reason": "damaged", "total": "-10.00"}, {"id": 731, "reason": "", "total": "-5.5"}]


def test_a_refund_listed_on_an_order_in_progress_is_a_partial_refund(shared_data: Path) -> None:
    assert map_webhook("order.updated", updated(shared_data, refunds=REFUNDS)) == commands.RecordRefunds(
        "woocommerce", "727",
        (Refund("726", Decimal("10.00"), "USD", "damaged"), Refund("731", Decimal("5.50"), "USD")))


def test_an_order_refunded_in_full_carries_its_refunds_and_says_so(shared_data: Path) -> None:
    assert map_webhook("order.updated", updated(shared_data, status="refunded", refunds=REFUNDS[:1])) == (
        commands.RecordRefunds("woocommerce", "727", (Refund("726", Decimal("10.00"), "USD", "damaged"),),
                               whole_order=True))


def test_a_completed_order_ships_even_with_a_refund_listed(shared_data: Path) -> None:
    assert map_webhook("order.updated", updated(shared_data, status="completed", refunds=REFUNDS)) == (
        commands.RecordShipmentByReference("woocommerce", "727", "", ""))


@pytest.mark.parametrize(("name", "full_name"), [("customers__retrieve_a_customer.json", "John Doe"),
                                                 ("customers__create_a_customer.json", "John Doe"),
                                                 ("customers__update_a_customer.json", "James Doe")])
@pytest.mark.parametrize("topic", ["customer.created", "customer.updated"])
def test_the_documented_customers_map_with_an_unknown_consent(shared_data: Path, name: str, full_name: str,
                                                              topic: str) -> None:
    payload = example(shared_data, name)
    mapped = map_webhook(topic, json.dumps(payload).encode())
    assert mapped == commands.RecordCustomer(
        "woocommerce", "25", "john.doe@example.com", full_name, MarketingConsent.UNKNOWN,
        datetime.fromisoformat(payload["date_modified_gmt"]).replace(tzinfo=UTC))


def test_the_sample_customer_is_exactly_this(shared_data: Path) -> None:
    body = json.dumps(example(shared_data, "customers__retrieve_a_customer.json")).encode()
    assert map_webhook("customer.updated", body) == commands.RecordCustomer(
        "woocommerce", "25", "john.doe@example.com", "John Doe", MarketingConsent.UNKNOWN,
        datetime(2017, 3, 21, 19, 9, 30, tzinfo=UTC))


def test_a_customer_without_a_name_of_their_own_is_named_by_their_billing_address() -> None:
    body = (b'{"id": 7, "email": "Ann@Example.com", "first_name": "", "last_name": "",'
            b' "billing": {"first_name": "Ann", "last_name": "Lee"}, "date_modified_gmt": null}')
    assert map_webhook("customer.updated", body) == commands.RecordCustomer(
        "woocommerce", "7", "ann@example.com", "Ann Lee", MarketingConsent.UNKNOWN, None)


def test_the_manifest_says_woocommerce_has_no_checkout_webhook() -> None:
    assert set(manifest.NOT_AVAILABLE) == {"checkouts (abandoned carts)"}
    assert manifest.classify("action.woocommerce_add_to_cart")[0] is False
    assert manifest.classify("customer.deleted") == (False, "not mapped yet: comes with customer data requests")
