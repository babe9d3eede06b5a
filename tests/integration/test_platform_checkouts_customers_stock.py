"""Checkouts (abandoned carts), customers and platform stock levels, through the real webhook endpoints, the inbox
and the bus on real PostgreSQL: kept per store, newer versions win, an order completes its checkout, and a platform's
stock level is recorded beside backroom's ledger (never over it), raising drift when they differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import TestClient, api_client, rows, scalar, seed_catalog
from tests.integration.test_platform_payments_refunds import SHOP, SHOPIFY_SECRET, WOO_SECRET, deliver, deliver_woo

from backroom.adapters.db import rules as rules_db
from backroom.bootstrap import Backroom
from backroom.config import ShopifySettings, WooCommerceSettings
from backroom.rules.model import parse_rules_text
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

SAMPLES = Path("connectors/shopify_webhooks/trigger_dev_payload_examples")
CHECKOUT_ID = 9_007_199_254_742_001
ITEM_ID = 9_007_199_254_743_001


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=ShopifySettings(webhook_secret=SecretStr(SHOPIFY_SECRET), shops={SHOP: "default"}),
                    woocommerce=WooCommerceSettings(webhook_secret=SecretStr(WOO_SECRET),
                                                    sites={"shop.example.com": "default"})) as c:
        yield c


def checkout(shared: Path, **changes: Any) -> dict[str, Any]:
    """Shopify's sample checkout, with an exact id and a line backroom sells."""
    payload: dict[str, Any] = json.loads((shared / SAMPLES / "CheckoutsCreate.json").read_text())
    payload["line_items"] = [{**payload["line_items"][0], "sku": "LAMP", "quantity": 2, "price": "20.00"}]
    return {**payload, "id": CHECKOUT_ID, "email": "Ada@Example.com", "total_price": "40.00", "currency": "GBP",
            "token": "tok-1", "created_at": "2026-11-27T08:00:00+00:00", "updated_at": "2026-11-27T08:00:00+00:00",
            **changes}


def shopify_order(number: int, *, token: str | None = "tok-1", email: str = "ada@example.com") -> dict[str, Any]:
    gid = 9_007_199_254_741_000 + number
    address = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 High Street", "city": "London",
               "zip": "SW1A 2AA", "country_code": "GB", "province_code": ""}
    return {"id": gid, "admin_graphql_api_id": f"gid://shopify/Order/{gid}", "name": f"#{number}", "email": email,
            "currency": "GBP", "financial_status": "paid", "created_at": "2026-11-27T09:00:00+00:00",
            "checkout_token": token, "shipping_address": address, "billing_address": address,
            "line_items": [{"id": 1, "sku": "LAMP", "quantity": 2, "price": "20.00", "title": "Lamp"}]}


def checkout_rows(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(
        app, "SELECT k.external_id, k.token, k.email, k.customer_name, k.currency, k.total::text, k.lines,"
             " k.recovery_url, k.started_at = CAST(:t AS timestamptz) AND k.platform_updated_at = k.started_at,"
             " o.number, k.completed_at IS NOT NULL, k.deleted_at IS NOT NULL"
             " FROM checkouts k LEFT JOIN orders o ON o.id = k.order_id ORDER BY k.id",
        t="2026-11-27T08:00:00+00:00")]


def events(app: Backroom, prefix: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT name, data FROM events WHERE name LIKE :p ORDER BY id",
                                   p=prefix + "%")]


def customers(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(
        app, "SELECT email, name, marketing_consent, channel, external_id, platform_updated_at IS NOT NULL"
             " FROM customers ORDER BY id")]


# -- checkouts -----------------------------------------------------------------------------------------------------


def test_a_checkout_is_kept_for_the_marketing_flows_and_completed_by_its_order(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    created = deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    deliver(app, client, "checkouts/update", checkout(shared_data), "evt-2")  # the same version: nothing new
    assert created["outcome"] == "accepted"
    recovery = "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"
    line = {"sku": "LAMP", "quantity": 2, "unit_price": "20.00", "title": "IPod Nano - 8GB"}
    assert checkout_rows(app) == [(str(CHECKOUT_ID), "tok-1", "ada@example.com", "John Smith", "GBP", "40.00",
                                   [line], recovery, True, None, False, False)]

    deliver(app, client, "orders/create", shopify_order(1001), "evt-3")

    (row,) = checkout_rows(app)
    assert (row[9], row[10]) == ("#1001", True)
    checkout_id = scalar(app, "SELECT id FROM checkouts")
    order_id = scalar(app, "SELECT id FROM orders")
    assert scalar(app, "SELECT completed_at = CAST(:t AS timestamptz) FROM checkouts",
                  t=app.clock.now().isoformat()) is True
    base = {"channel": "shopify", "email": "ada@example.com", "currency": "GBP", "total": "40.00", "item_count": 2,
            "line_count": 1, "skus": ["LAMP"], "recovery_url": recovery}
    assert events(app, "checkout_") == [
        ("checkout_created", {**base, "completed": False, "order_id": None}),
        ("checkout_completed", {**base, "completed": True, "order_id": order_id})]
    assert rows(app, "SELECT DISTINCT subject_type, subject_id FROM events WHERE name LIKE 'checkout_%'") == [
        ("checkout", checkout_id)]


def test_a_newer_version_updates_the_checkout_and_an_older_one_is_dropped(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    newer = checkout(shared_data, updated_at="2026-11-27T08:30:00+00:00", total_price="20.00",
                     line_items=[{"sku": "LAMP", "quantity": 1, "price": "20.00", "title": "Lamp"}])
    deliver(app, client, "checkouts/update", newer, "evt-2")
    older = checkout(shared_data, updated_at="2026-11-27T08:10:00+00:00", total_price="99.00")
    deliver(app, client, "checkouts/update", older, "evt-3")

    assert rows(app, "SELECT total::text, lines FROM checkouts") == [
        ("20.00", [{"sku": "LAMP", "quantity": 1, "unit_price": "20.00", "title": "Lamp"}])]
    assert [name for name, _ in events(app, "checkout_")] == ["checkout_created", "checkout_updated"]


def test_a_checkout_completed_on_the_platform_is_linked_to_its_order_later_without_a_second_event(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    done = checkout(shared_data, updated_at="2026-11-27T08:59:00+00:00", completed_at="2026-11-27T08:59:00+00:00")
    deliver(app, client, "checkouts/update", done, "evt-2")
    deliver(app, client, "orders/create", shopify_order(1002), "evt-3")

    assert rows(app, "SELECT o.number, k.completed_at = '2026-11-27T08:59:00+00:00' FROM checkouts k"
                     " JOIN orders o ON o.id = k.order_id") == [("#1002", True)]
    assert [name for name, _ in events(app, "checkout_")] == [
        "checkout_created", "checkout_updated", "checkout_completed"]


def test_an_order_without_a_checkout_token_completes_its_buyers_open_checkout(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    deliver(app, client, "orders/create", shopify_order(1003, token=None, email="someone@example.com"), "evt-2")
    assert rows(app, "SELECT order_id, completed_at FROM checkouts") == [(None, None)]  # another buyer: untouched

    deliver(app, client, "orders/create", shopify_order(1004, token=None), "evt-3")
    assert rows(app, "SELECT o.number FROM checkouts k JOIN orders o ON o.id = k.order_id") == [("#1004",)]


def test_a_deleted_checkout_stays_deleted(app: Backroom, client: TestClient, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    deliver(app, client, "checkouts/delete", {"id": CHECKOUT_ID}, "evt-2")
    deliver(app, client, "checkouts/update", checkout(shared_data, updated_at="2026-11-27T10:00:00+00:00"), "evt-3")
    deliver(app, client, "orders/create", shopify_order(1005), "evt-4")
    deliver(app, client, "checkouts/delete", {"id": 123}, "evt-5")  # one never seen

    assert rows(app, "SELECT deleted_at = CAST(:t AS timestamptz), order_id, completed_at FROM checkouts",
                t=app.clock.now().isoformat()) == [(True, None, None)]
    assert [name for name, _ in events(app, "checkout_")] == ["checkout_created"]


def test_one_checkout_delivered_under_two_ids_is_kept_once(app: Backroom, client: TestClient,
                                                            shared_data: Path) -> None:
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-2")
    assert scalar(app, "SELECT count(*) FROM checkouts") == 1
    assert [name for name, _ in events(app, "checkout_")] == ["checkout_created"]


def test_a_rule_can_act_on_a_checkout(app: Backroom, client: TestClient, shared_data: Path) -> None:
    rules_db.save_rules(app.engine, app.store_id(), parse_rules_text("""
rules:
  - name: big_cart
    when: checkout_created
    if: checkout.total >= 40.0 && checkout.item_count == 2
    then:
      - create_review_item(reason='big_cart', title='{{ checkout.email }}')
    mode: live
"""), "test", app.clock.now())
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-1")
    assert rows(app, "SELECT reason_code, subject_type, title FROM review_items") == [
        ("big_cart", "checkout", "ada@example.com")]


# -- customers -----------------------------------------------------------------------------------------------------


def test_a_customer_is_kept_with_their_consent_and_an_older_update_never_wins(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    sample = json.loads((shared_data / SAMPLES / "CustomersCreate.json").read_text())
    deliver(app, client, "customers/create", sample, "evt-1")
    assert customers(app) == [("bob@biller.com", "Bob Biller", "subscribed", "shopify", "706405506930370084", True)]

    newer = {**sample, "updated_at": "2022-01-02T10:00:00Z", "accepts_marketing": False, "first_name": "Robert",
             "email_marketing_consent": {"state": "unsubscribed"}}
    older = {**sample, "updated_at": "2022-01-01T10:00:00Z", "first_name": "Bobby"}
    deliver(app, client, "customers/update", newer, "evt-2")
    deliver(app, client, "customers/update", older, "evt-3")

    assert customers(app) == [("bob@biller.com", "Robert Biller", "unsubscribed", "shopify",
                               "706405506930370084", True)]
    assert scalar(app, "SELECT platform_updated_at = '2022-01-02T10:00:00Z' FROM customers") is True


def test_a_customer_known_from_their_orders_is_the_same_customer(app: Backroom, client: TestClient,
                                                                shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "orders/create", shopify_order(1006, token=None), "evt-1")
    assert customers(app) == [("ada@example.com", "Ada Lovelace", "unknown", None, None, False)]

    deliver(app, client, "customers/update", {
        "id": 42, "email": "ADA@example.com", "first_name": "Ada", "last_name": "King", "accepts_marketing": True,
        "updated_at": "2026-11-27T09:30:00Z"}, "evt-2")

    assert customers(app) == [("ada@example.com", "Ada King", "subscribed", "shopify", "42", True)]
    assert scalar(app, "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id") == 1


def test_an_email_change_moves_the_customer_unless_another_customer_has_it(app: Backroom,
                                                                          client: TestClient) -> None:
    base = {"first_name": "Ada", "last_name": "King", "accepts_marketing": True}
    deliver(app, client, "customers/create", {**base, "id": 1, "email": "ada@example.com",
                                              "updated_at": "2026-11-27T09:00:00Z"}, "evt-1")
    deliver(app, client, "customers/create", {**base, "id": 2, "email": "bob@example.com",
                                              "updated_at": "2026-11-27T09:00:00Z"}, "evt-2")
    deliver(app, client, "customers/update", {**base, "id": 1, "email": "ada@new.example",
                                              "updated_at": "2026-11-27T09:10:00Z"}, "evt-3")
    deliver(app, client, "customers/update", {**base, "id": 1, "email": "bob@example.com",
                                              "updated_at": "2026-11-27T09:20:00Z"}, "evt-4")

    assert [(r[0], r[4]) for r in customers(app)] == [("ada@new.example", "1"), ("bob@example.com", "2")]


def test_a_woocommerce_customer_has_an_unknown_consent_and_one_without_email_is_not_kept(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    sample = json.loads((shared_data / "connectors/woocommerce_rest_v3/json_examples/"
                         "customers__retrieve_a_customer.json").read_text())
    deliver_woo(app, client, "customer.updated", sample, "d-1")
    deliver_woo(app, client, "customer.updated", {**sample, "id": 26, "email": "", "billing": {}}, "d-2")

    assert customers(app) == [("john.doe@example.com", "John Doe", "unknown", "woocommerce", "25", True)]
    assert rows(app, "SELECT source_id, status FROM inbox ORDER BY id") == [("d-1", "processed"), ("d-2", "processed")]


# -- stock levels the platform reports -----------------------------------------------------------------------------


def level(available: int | None, at: str, location: int = 7) -> dict[str, Any]:
    return {"inventory_item_id": ITEM_ID, "location_id": location, "available": available, "updated_at": at,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={ITEM_ID}"}


def platform_stock(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT item_id, location_id, sku, available, backroom_available, difference"
                                        " FROM platform_stock ORDER BY location_id")]


def test_a_platform_level_is_recorded_beside_the_ledger_and_drift_is_raised_once(
        app: Backroom, client: TestClient, clock: SimulatedClock) -> None:
    seed_catalog(app, {"LAMP": (5, 2)})
    ledger_before = scalar(app, "SELECT count(*) FROM stock_ledger")
    deliver(app, client, "inventory_levels/update", level(9, "2026-11-27T09:00:00Z"), "evt-1")
    assert platform_stock(app) == [(str(ITEM_ID), "7", None, 9, None, None)]  # which SKU is not known yet
    assert events(app, "platform_stock_drift") == []

    deliver(app, client, "inventory_items/update", {"id": ITEM_ID, "sku": "LAMP",
                                                    "admin_graphql_api_id": f"gid://shopify/InventoryItem/{ITEM_ID}"},
            "evt-2")
    assert rows(app, "SELECT item_id, sku FROM platform_items") == [(str(ITEM_ID), "LAMP")]
    clock.advance(timedelta(minutes=1))
    deliver(app, client, "inventory_levels/update", level(9, "2026-11-27T09:01:00Z"), "evt-3")
    deliver(app, client, "inventory_levels/update", level(9, "2026-11-27T09:02:00Z"), "evt-4")  # the same drift
    deliver(app, client, "inventory_levels/update", level(3, "2026-11-27T08:00:00Z"), "evt-5")  # older news

    assert platform_stock(app) == [(str(ITEM_ID), "7", "LAMP", 9, 7, 2)]
    assert events(app, "platform_stock_drift") == [("platform_stock_drift", {
        "sku": "LAMP", "available": 7, "on_hand": 7, "platform_available": 9, "difference": 2,
        "channel": "shopify"})]
    # backroom's ledger is the stock of record: nothing the platform said changed it
    assert rows(app, "SELECT sku, on_hand, reserved FROM stock_levels ORDER BY id") == [
        ("LAMP", 5, 0), ("LAMP", 2, 0)]
    assert scalar(app, "SELECT count(*) FROM stock_ledger") == ledger_before


def test_levels_at_every_platform_location_add_up_before_they_are_compared(app: Backroom,
                                                                           client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 2)})
    deliver(app, client, "inventory_items/create", {"id": ITEM_ID, "sku": "LAMP"}, "evt-1")
    deliver(app, client, "inventory_levels/update", level(4, "2026-11-27T09:00:00Z", location=7), "evt-2")
    deliver(app, client, "inventory_levels/update", level(3, "2026-11-27T09:00:00Z", location=8), "evt-3")
    deliver(app, client, "inventory_levels/update", level(None, "2026-11-27T09:00:00Z", location=9), "evt-4")

    assert platform_stock(app) == [(str(ITEM_ID), "7", "LAMP", 4, 7, -3), (str(ITEM_ID), "8", "LAMP", 3, 7, 0),
                                   (str(ITEM_ID), "9", "LAMP", None, None, None)]
    assert [e[1]["difference"] for e in events(app, "platform_stock_drift")] == [-3]


def test_a_rule_can_alert_on_drift(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    rules_db.save_rules(app.engine, app.store_id(), parse_rules_text("""
rules:
  - name: drift
    when: platform_stock_drift
    if: event.difference > 0 && event.channel == 'shopify'
    then:
      - create_review_item(reason='stock_drift', title='{{ stock.sku }} off by {{ event.difference }}')
    mode: live
"""), "test", app.clock.now())
    deliver(app, client, "inventory_items/create", {"id": ITEM_ID, "sku": "LAMP"}, "evt-1")
    deliver(app, client, "inventory_levels/update", level(8, "2026-11-27T09:00:00Z"), "evt-2")
    assert rows(app, "SELECT reason_code, subject_type, title FROM review_items") == [
        ("stock_drift", "sku", "LAMP off by 3")]
