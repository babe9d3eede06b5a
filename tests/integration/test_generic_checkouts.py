"""Checkouts in backroom's own format through the signed POST /inbound/checkouts, on real PostgreSQL and a real local
SMTP server with the simulated clock: recorded through the same command as Shopify's checkouts, so the buyer enters
the abandoned-checkout flow in that transaction, is reminded after an hour, and is not chased once the cart is
completed or an order arrives. Forged bodies are refused, malformed ones answered 400 with every problem, both kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import INBOUND_SECRET, HttpReceiver, TestClient, api_client, order_body, rows, scalar, seed_catalog
from tests.integration.test_marketing_flows import START, at, build_app, enrollment, marketing
from tests.integration.test_platform_payments_refunds import WOO_SECRET, deliver_woo

from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom
from backroom.config import WooCommerceSettings
from backroom.customers.model import MarketingConsent
from backroom.entrypoints.api.app import create_app
from backroom.orders.commands import RecordCustomer
from backroom.shared.clock import SimulatedClock
from backroom.shared.hashing import content_hash, sign

pytestmark = pytest.mark.integration

RECOVER = "https://shop.example.com/checkout/?wcf_ac_token=abc123"


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock)
    yield backroom
    backroom.close()


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    woocommerce = WooCommerceSettings(webhook_secret=SecretStr(WOO_SECRET), sites={"shop.example.com": "default"})
    with api_client(app, inbound_secret=SecretStr(INBOUND_SECRET), woocommerce=woocommerce) as c:
        yield c


def cart(**changes: Any) -> dict[str, Any]:
    return {"id": "cart-1", "channel": "woocommerce", "email": "Ada@Example.com", "customer_name": "Ada Lovelace",
            "currency": "gbp", "recovery_url": RECOVER, "started_at": "2026-11-27T08:55:00Z",
            "updated_at": "2026-11-27T09:00:00Z",
            "lines": [{"sku": "LAMP", "quantity": 2, "unit_price": "20.00", "title": "Lamp"},
                      {"sku": "MUG", "quantity": 1, "unit_price": "12.50", "title": "Mug"}], **changes}


def post_checkout(client: TestClient, payload: dict[str, Any] | bytes, delivery_id: str | None = None, *,
                  secret: str = INBOUND_SECRET) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Backroom-Signature": sign(secret, body)}
    if delivery_id is not None:
        headers["X-Backroom-Delivery-Id"] = delivery_id
    response = client.post("/inbound/checkouts", content=body, headers=headers)
    return response.status_code, response.json()


def subscribed(app: Backroom, email: str = "ada@example.com") -> None:
    """The buyer agreed to marketing mail (as a platform's customer record says; the flow mails no one else)."""
    app.handle(RecordCustomer("woocommerce", "cust-7", email, "Ada Lovelace", MarketingConsent.SUBSCRIBED, None))


def checkout_rows(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(
        app, "SELECT channel, external_id, token, email, customer_name, currency, total::text, lines, recovery_url,"
             " started_at, platform_updated_at, completed_at, order_id, deleted_at FROM checkouts ORDER BY id")]


def inbox_rows(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT source, source_id, kind, status, error FROM inbox ORDER BY id")]


LINES_JSON = [{"sku": "LAMP", "quantity": 2, "unit_price": "20.00", "title": "Lamp"},
              {"sku": "MUG", "quantity": 1, "unit_price": "12.50", "title": "Mug"}]


def test_a_signed_checkout_is_recorded_and_its_buyer_enrolled_in_the_same_transaction(
        app: Backroom, client: TestClient) -> None:
    status, reply = post_checkout(client, cart(), "cart-1:v1")

    assert (status, reply) == (200, {"outcome": "created", "detail": "created", "source_id": "cart-1:v1"})
    assert checkout_rows(app) == [(
        "woocommerce", "cart-1", "", "ada@example.com", "Ada Lovelace", "GBP", "52.50", LINES_JSON, RECOVER,
        START - timedelta(minutes=5), START, None, None, None)]
    assert enrollment(app) == ("abandoned_checkout", "ada@example.com", "checkout", "active", START, "")
    assert scalar(app, "SELECT subject_id FROM marketing_enrollments") == scalar(app, "SELECT id FROM checkouts")
    assert inbox_rows(app) == [("inbound-checkout", "cart-1:v1", "checkout", "processed", None)]
    assert rows(app, "SELECT name FROM events WHERE subject_type = 'checkout' ORDER BY id") == [("checkout_created",)]


def test_the_reminder_for_a_posted_cart_goes_after_an_hour_with_its_recovery_url(
        app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    subscribed(app)
    assert post_checkout(client, cart(total="57.40"))[0] == 200

    at(app, timedelta(minutes=59))
    assert marketing(mail) == []

    at(app, timedelta(hours=1))
    (reminder,) = marketing(mail)
    assert reminder["To"] == "ada@example.com"
    assert reminder["Subject"] == "You left something in your cart"
    text = reminder.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Hello Ada Lovelace," in text
    assert "  2 x Lamp  40.00 GBP\n  1 x Mug  12.50 GBP\n" in text
    assert "Total: 57.40 GBP" in text  # the total the storefront gave (shipping included), not the lines' sum
    assert f"Pick up where you left off: {RECOVER}" in text
    assert enrollment(app)[3:5] == ("waiting", START + timedelta(hours=24))


def test_a_buyer_who_opted_in_at_checkout_is_reminded_though_no_platform_knows_them(
        app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    post_checkout(client, cart(accepts_marketing=True))

    assert rows(app, "SELECT email, name, marketing_consent, channel, external_id FROM customers") == [
        ("ada@example.com", "Ada Lovelace", "subscribed", None, None)]
    at(app, timedelta(hours=1))
    assert [m["To"] for m in marketing(mail)] == ["ada@example.com"]


def test_without_an_opt_in_the_reminder_is_skipped_for_want_of_consent(
        app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    post_checkout(client, cart(accepts_marketing=False))

    at(app, timedelta(hours=1))

    assert marketing(mail) == []
    assert scalar(app, "SELECT count(*) FROM customers") == 0
    value = scalar(app, "SELECT value FROM marketing_enrollments")
    assert [(h["what"], h["reason"]) for h in value["history"] if h["what"] == "skipped"] == [
        ("skipped", "no_marketing_consent")]


def test_an_opt_in_at_checkout_does_not_undo_an_unsubscribe(
        app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    app.handle(RecordCustomer("woocommerce", "cust-7", "ada@example.com", "Ada", MarketingConsent.UNSUBSCRIBED, None))

    post_checkout(client, cart(accepts_marketing=True))
    at(app, timedelta(hours=1))

    assert app.consent_of("ada@example.com") == "unsubscribed"
    assert marketing(mail) == []


def test_the_same_checkout_body_twice_is_one_checkout_and_one_enrollment(
        app: Backroom, client: TestClient) -> None:
    body = json.dumps(cart()).encode()

    first = post_checkout(client, body)
    again = post_checkout(client, body)
    resent = post_checkout(client, body, "another-delivery-id")  # the same version under another id: a no-op too

    assert first == (200, {"outcome": "created", "detail": "created", "source_id": content_hash(body)})
    assert again == (200, {"outcome": "duplicate", "detail": "duplicate", "source_id": content_hash(body)})
    assert resent == (200, {"outcome": "unchanged", "detail": "unchanged", "source_id": "another-delivery-id"})
    assert scalar(app, "SELECT count(*) FROM checkouts") == 1
    assert scalar(app, "SELECT count(*) FROM marketing_enrollments") == 1
    assert scalar(app, "SELECT count(*) FROM inbox") == 2


def test_an_older_version_of_a_cart_arriving_late_changes_nothing(app: Backroom, client: TestClient) -> None:
    post_checkout(client, cart(updated_at="2026-11-27T09:10:00Z", lines=[
        {"sku": "LAMP", "quantity": 3, "unit_price": "20.00"}]))

    status, reply = post_checkout(client, cart())

    assert (status, reply["outcome"], reply["detail"]) == (200, "unchanged", "unchanged: older than the version kept")
    assert checkout_rows(app)[0][6:8] == ("60.00", [{"sku": "LAMP", "quantity": 3, "unit_price": "20.00",
                                                       "title": ""}])


@pytest.mark.parametrize(("completion", "completed_at"), [
    ({"completed_at": "2026-11-27T09:15:00Z"}, START + timedelta(minutes=15)),
    ({"order_id": "wc-1001"}, START + timedelta(minutes=20)),  # completed when the update says it changed
])
def test_a_cart_updated_as_completed_is_never_chased(app: Backroom, client: TestClient, mail: MailCatcher,
                                                     completion: dict[str, str], completed_at: Any) -> None:
    subscribed(app)
    post_checkout(client, cart())
    at(app, timedelta(minutes=20))

    status, reply = post_checkout(client, cart(updated_at="2026-11-27T09:20:00Z", **completion))

    assert (status, reply["outcome"]) == (200, "completed")
    assert checkout_rows(app)[0][10:14] == (START + timedelta(minutes=20), completed_at, None, None)
    assert rows(app, "SELECT name FROM events WHERE subject_type = 'checkout' ORDER BY id") == [
        ("checkout_created",), ("checkout_updated",), ("checkout_completed",)]
    at(app, timedelta(hours=1))
    at(app, timedelta(hours=24))
    assert marketing(mail) == []
    assert enrollment(app)[3:6] == ("exited", None, "exit_condition")
    assert scalar(app, "SELECT count(*) FROM marketing_sends") == 0


def test_an_order_for_the_buyer_stops_the_flow_even_from_another_channel(
        app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    subscribed(app)
    post_checkout(client, cart())  # a WooCommerce cart …
    at(app, timedelta(minutes=30))
    body = order_body("1001", {"LAMP": 2}, email="ada@example.com")  # … and an order posted to /inbound/orders
    order = client.post("/inbound/orders", content=body, headers={"X-Backroom-Signature": sign(INBOUND_SECRET, body)})
    assert (order.status_code, order.json()["outcome"]) == (200, "created")

    at(app, timedelta(hours=1))

    assert marketing(mail) == []
    assert enrollment(app)[3:6] == ("exited", None, "exit_condition")
    # the checkout is WooCommerce's: an order of another channel does not complete it (the flow stops all the same)
    assert checkout_rows(app)[0][11:13] == (None, None)


def test_an_inbound_order_completes_an_inbound_cart_of_its_buyer(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    post_checkout(client, cart(channel="inbound"))
    at(app, timedelta(minutes=30))

    body = order_body("1001", {"LAMP": 2}, email="ada@example.com")
    client.post("/inbound/orders", content=body, headers={"X-Backroom-Signature": sign(INBOUND_SECRET, body)})

    order_id = scalar(app, "SELECT id FROM orders")
    assert checkout_rows(app)[0][11:13] == (START + timedelta(minutes=30), order_id)
    assert rows(app, "SELECT name FROM events WHERE subject_type = 'checkout' ORDER BY id") == [
        ("checkout_created",), ("checkout_completed",)]


def test_a_woocommerce_order_completes_the_woocommerce_cart_of_its_buyer(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    subscribed(app)
    post_checkout(client, cart())
    at(app, timedelta(minutes=30))
    order = json.loads((shared_data / "connectors/woocommerce_rest_v3/json_examples/orders__retrieve_an_order.json")
                       .read_text())
    order["line_items"] = [{"id": 1, "name": "Lamp", "product_id": 7, "quantity": 2, "sku": "LAMP", "price": 20}]
    order["shipping"] = {**order["shipping"], "country": "GB", "postcode": "SW1A 2AA", "city": "London", "state": ""}
    order["billing"] = {**order["billing"], "email": "ada@example.com"}
    order["date_created_gmt"] = "2026-11-27T09:30:00"

    deliver_woo(app, client, "order.created", {**order, "status": "processing"}, "d-1")

    assert checkout_rows(app)[0][11:13] == (START + timedelta(minutes=30), scalar(app, "SELECT id FROM orders"))
    at(app, timedelta(hours=1))
    assert marketing(mail) == []
    assert enrollment(app)[3:6] == ("exited", None, "exit_condition")


def test_a_deleted_cart_is_marked_deleted(app: Backroom, client: TestClient) -> None:
    post_checkout(client, cart())
    at(app, timedelta(minutes=10))

    status, reply = post_checkout(client, {"id": "cart-1", "channel": "woocommerce", "deleted": True})
    unknown = post_checkout(client, {"id": "cart-404", "deleted": True})

    assert (status, reply["outcome"], reply["detail"]) == (200, "deleted", "deleted")
    assert (unknown[0], unknown[1]["outcome"], unknown[1]["detail"]) == (200, "unchanged", "unknown checkout")
    assert checkout_rows(app)[0][13] == START + timedelta(minutes=10)


def test_a_checkout_kept_in_the_inbox_is_read_again_by_the_inbox_processor(app: Backroom) -> None:
    """The same mapper reads a kept body later (a delivery recorded first and processed after, or a replay)."""
    accepted = app.accept_webhook("inbound-checkout", "d-later", "checkout", json.dumps(cart()).encode(), {},
                                  "default").result(timeout=10)
    assert (accepted.outcome, accepted.detail) == ("accepted", "received")

    app.process_inbox()

    assert inbox_rows(app) == [("inbound-checkout", "d-later", "checkout", "processed", None)]
    assert [r[:2] for r in checkout_rows(app)] == [("woocommerce", "cart-1")]
    assert enrollment(app)[:4] == ("abandoned_checkout", "ada@example.com", "checkout", "active")


def test_a_forged_checkout_is_401_and_nothing_is_recorded(app: Backroom, client: TestClient) -> None:
    body = json.dumps(cart()).encode()

    status, error = post_checkout(client, body, "dlv-forged", secret="not-the-secret")
    unsigned = client.post("/inbound/checkouts", content=body, headers={"X-Backroom-Delivery-Id": "dlv-unsigned"})

    assert (status, error) == (401, {"error": "signature_invalid",
                                     "message": "X-Backroom-Signature is missing or does not match the body"})
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "signature_invalid")
    assert inbox_rows(app) == [("inbound-checkout", "dlv-forged", "checkout", "rejected", "signature_invalid"),
                               ("inbound-checkout", "dlv-unsigned", "checkout", "rejected", "signature_invalid")]
    assert scalar(app, "SELECT body FROM inbox WHERE source_id = 'dlv-forged'") == body.decode()
    for table in ("checkouts", "marketing_enrollments", "events"):
        assert scalar(app, f"SELECT count(*) FROM {table}") == 0


def test_a_malformed_checkout_is_400_with_every_problem_and_kept(app: Backroom, client: TestClient) -> None:
    payload = cart(currency="£", recovery_url="javascript:alert(1)", started_at="2026-11-27T08:55:00",
                   email="not an email", lines=[{"sku": "LAMP", "quantity": -1, "unit_price": "-2"}])
    del payload["updated_at"]
    body = json.dumps(payload).encode()

    status, error = post_checkout(client, body, "dlv-bad")

    assert status == 400
    assert error == {"error": "invalid_checkout", "message": (
        "invalid checkout: email: String should match pattern '^([^@\\s]+@[^@\\s]+\\.[^@\\s]+)?$'; "
        "currency: String should match pattern '^[A-Za-z]{3}$'; "
        "lines.0.quantity: Input should be greater than 0; "
        "lines.0.unit_price: Input should be greater than or equal to 0; "
        "recovery_url: Value error, must be an http:// or https:// address; "
        "started_at: Value error, needs a timezone (e.g. 2026-11-27T10:00:00Z); "
        "updated_at: Field required")}
    assert inbox_rows(app) == [
        ("inbound-checkout", "dlv-bad", "checkout", "rejected", f"invalid_checkout: {error['message']}")]
    assert scalar(app, "SELECT body FROM inbox") == body.decode()
    assert scalar(app, "SELECT count(*) FROM checkouts") == 0
    assert scalar(app, "SELECT count(*) FROM marketing_enrollments") == 0


def test_a_checkout_body_that_is_not_json_is_400_and_kept(app: Backroom, client: TestClient) -> None:
    status, error = post_checkout(client, b"{not json", "dlv-junk")

    assert (status, error["error"]) == (400, "malformed_json")
    assert inbox_rows(app) == [("inbound-checkout", "dlv-junk", "checkout", "rejected",
                                f"malformed_json: {error['message']}")]


def test_inbound_checkouts_without_a_secret_are_503_and_keep_nothing(app: Backroom) -> None:
    with TestClient(create_app(app)) as client:
        status, error = post_checkout(client, cart())

    assert (status, error) == (503, {"error": "inbound_not_configured",
                                     "message": "inbound checkouts are disabled: set BACKROOM_INBOUND_SECRET"})
    assert scalar(app, "SELECT count(*) FROM inbox") == 0
