"""The Shopify emulator on a real loopback port: the client talks to it over HTTP, it sends real signed webhooks to a
receiver, and what those webhooks map to is what the orders query maps to — the reconciliation poll and the
webhooks agree. Chaos (duplicates, reordering, drops) is deterministic from the seed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from backroom.connectors.shopify.client import ShopifyClient, numeric_id
from backroom.connectors.shopify.mapping import (
    OrderStatusSeen,
    ShipmentSeen,
    follow_up_commands,
    map_webhook,
    order_from_graphql,
    status_from_graphql,
)
from backroom.connectors.shopify.throttle import CostBudget
from backroom.connectors.shopify.webhooks import Delivery, delivery, verify
from backroom.emulator.shopify import ShopifyEmulator, WebhookDelivery
from backroom.orders import commands
from backroom.orders.model import Address, OrderLine, PaymentState
from backroom.shared.clock import SimulatedClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
WAIT_S = 10.0  # the longest a test waits for a webhook it expects (event-driven: usually milliseconds)


class Receiver:
    """backroom's webhook endpoint stand-in: keeps every POST (headers, raw body) and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.received.append((dict(self.headers), body))
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/shopify"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def wait_for(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout=WAIT_S), self.received
            return list(self.received)

    def topics(self) -> list[str]:
        with self.arrived:
            return [h["X-Shopify-Topic"] for h, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def running(clock: SimulatedClock, receiver: Receiver, **chaos: Any) -> ShopifyEmulator:
    emulator = ShopifyEmulator(clock=clock, seed=chaos.pop("seed", 3), **chaos)
    for topic in ("orders/create", "orders/updated", "orders/cancelled", "fulfillments/create"):
        emulator.subscribe(topic, receiver.url)
    return emulator


@pytest.fixture
def shop(clock: SimulatedClock, receiver: Receiver) -> Iterator[ShopifyEmulator]:
    with running(clock, receiver) as emulator:
        yield emulator


def client_for(shop: ShopifyEmulator, clock: SimulatedClock) -> ShopifyClient:
    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    return ShopifyClient(shop.shop, SecretStr(shop.access_token), base_url=shop.url,
                         budget=CostBudget(clock=lambda: clock.now().timestamp()), sleep=sleep)


def read_back(shop: ShopifyEmulator, clock: SimulatedClock, order_id: str) -> dict[str, Any]:
    with client_for(shop, clock) as client:
        (node,) = [n for n in client.orders_updated_since(START - timedelta(days=1)) if n["id"].endswith(order_id)]
    return node


def test_a_placed_order_is_posted_signed_to_its_subscriber(shop: ShopifyEmulator, receiver: Receiver) -> None:
    order = shop.place_order("ada@example.com", [("MUG", 2, "12.50")])

    ((headers, body),) = receiver.wait_for(1)

    assert verify(shop.webhook_secret, body, headers)
    assert not verify("another secret", body, headers)
    (sent,) = shop.deliveries
    assert delivery(headers) == Delivery("orders/create", "emulator.myshopify.com", sent.event_id, "2026-10")
    assert sent == WebhookDelivery("orders/create", sent.event_id, headers["X-Shopify-Webhook-Id"], order,
                                   receiver.url, 200)
    assert headers["X-Shopify-Triggered-At"] == "2026-11-27T09:00:00Z"
    payload = json.loads(body)
    assert (payload["id"], payload["admin_graphql_api_id"], payload["name"]) == (
        int(order), f"gid://shopify/Order/{order}", "#1001")
    assert [(i["sku"], i["quantity"], i["price"], i["requires_shipping"]) for i in payload["line_items"]] == [
        ("MUG", 2, "12.50", True)]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_the_webhook_and_the_orders_query_map_to_the_same_order(clock: SimulatedClock, receiver: Receiver,
                                                                timezone: str) -> None:
    with running(clock, receiver, timezone=timezone) as shop:
        order = shop.place_order(
            "ada@example.com", [("MUG", 2, "12.50"), ("", 1, "3.00"), ("GIFT-CARD", 1, "25.00")],
            first_name="Ada", last_name="Lovelace", no_shipping={"GIFT-CARD"},
            shipping_address={"address1": "1 Infinite Loop", "city": "Cupertino", "zip": "95014",
                              "province_code": "CA", "country_code": "US", "phone": "+1 408 555 0100"})
        ((_, body),) = receiver.wait_for(1)
        node = read_back(shop, clock, order)

    from_webhook = map_webhook("orders/create", body, "shopify:evt")
    from_query = order_from_graphql(node, "shopify:evt")

    assert from_webhook == commands.ImportOrders((from_query,))
    address = Address("Ada Lovelace", "1 Infinite Loop", "Cupertino", "95014", "US", "", "CA", "+1 408 555 0100")
    variant = node["lineItems"]["nodes"][1]["variant"]["id"].rsplit("/", 1)[-1]
    assert from_query == commands.IncomingOrder(
        channel="shopify", external_id=order, number="#1001", email="ada@example.com", customer_name="Ada Lovelace",
        currency="GBP", payment_state=PaymentState.PAID, shipping_address=address, billing_address=address,
        lines=(OrderLine("MUG", 2, from_query.lines[0].unit_price, "Mug"),
               OrderLine(f"shopify-variant-{variant}", 1, from_query.lines[1].unit_price, "Gift wrapping")),
        placed_at=START, source_ref="shopify:evt")
    assert [str(ln.unit_price) for ln in from_query.lines] == ["12.5", "3.0"]  # GraphQL's Decimal, same value
    assert [str(ln.unit_price) for ln in from_webhook.orders[0].lines] == ["12.50", "3.00"]
    assert min(int(order), int(variant)) > 2**53


def test_cancellation_and_shipment_read_back_give_the_commands_their_webhooks_give(
        shop: ShopifyEmulator, receiver: Receiver, clock: SimulatedClock) -> None:
    shipped = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    cancelled = shop.place_order("b@example.com", [("MUG", 1, "9.50")])
    shop.fulfill_order(shipped, "Royal Mail", "RM123", "https://rm.test/RM123")
    shop.cancel_order(cancelled, "fraud")
    received = receiver.wait_for(6)  # two creates; fulfillment + updated; cancelled + updated

    from_webhooks = [map_webhook(h["X-Shopify-Topic"], b) for h, b in received
                     if h["X-Shopify-Topic"] in ("fulfillments/create", "orders/cancelled")]
    from_query = [c for order in (shipped, cancelled) for c in follow_up_commands(read_back(shop, clock, order))]

    assert from_webhooks == from_query == [
        commands.RecordShipmentByReference("shopify", shipped, "Royal Mail", "RM123", "https://rm.test/RM123"),
        commands.CancelOrderByReference("shopify", cancelled, "fraud", "shopify")]
    assert status_from_graphql(read_back(shop, clock, shipped)) == OrderStatusSeen(
        shipped, False, "", (ShipmentSeen("Royal Mail", "RM123", "https://rm.test/RM123"),))


def test_the_client_over_http_fulfils_and_the_store_tells_its_subscribers(
        shop: ShopifyEmulator, receiver: Receiver, clock: SimulatedClock) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    receiver.wait_for(1)

    with client_for(shop, clock) as client:
        fulfillment = client.create_fulfillment(order, "UPS", "1Z999")
        assert client.create_fulfillment(order, "UPS", "1Z999") == fulfillment

    receiver.wait_for(3)
    assert receiver.topics() == ["orders/create", "fulfillments/create", "orders/updated"]
    assert [f.id for f in shop.fulfillments(order)] == [fulfillment]


def test_a_duplicated_delivery_is_sent_twice_with_one_event_id(clock: SimulatedClock, receiver: Receiver) -> None:
    with running(clock, receiver, duplicate_rate=1.0) as shop:
        order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
        (first, second) = receiver.wait_for(2)

    assert first[0]["X-Shopify-Event-Id"] == second[0]["X-Shopify-Event-Id"]
    assert first[1] == second[1]
    assert [(d.order_id, d.status_code, d.duplicated) for d in shop.deliveries] == [
        (order, 200, False), (order, 200, True)]


def test_a_held_back_delivery_arrives_after_a_later_one(clock: SimulatedClock, receiver: Receiver) -> None:
    with running(clock, receiver, reorder_rate=1.0) as shop:
        early = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
        assert (receiver.received, shop.held_back()) == ([], 1)
        shop.reorder_rate = 0.0
        late = shop.place_order("b@example.com", [("MUG", 1, "9.50")])
        received = receiver.wait_for(2)

    assert [json.loads(body)["id"] for _, body in received] == [int(late), int(early)]
    assert [(d.order_id, d.reordered) for d in shop.deliveries] == [(late, False), (early, True)]


def test_flush_sends_what_was_held_back(clock: SimulatedClock, receiver: Receiver) -> None:
    with running(clock, receiver, reorder_rate=1.0) as shop:
        order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])

        sent = shop.flush()

        assert [(d.order_id, d.status_code, d.reordered) for d in sent] == [(order, 200, True)]
        assert shop.held_back() == 0
        assert len(receiver.wait_for(1)) == 1


def test_a_dropped_delivery_never_arrives_but_the_poll_finds_the_order(clock: SimulatedClock,
                                                                        receiver: Receiver) -> None:
    with running(clock, receiver, drop_rate=1.0) as shop:
        order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
        shop.flush()
        node = read_back(shop, clock, order)

    assert receiver.received == []
    assert [(d.order_id, d.status_code, d.dropped) for d in shop.deliveries] == [(order, None, True)]
    assert order_from_graphql(node).external_id == order


def test_chaos_is_the_same_for_the_same_seed(clock: SimulatedClock, receiver: Receiver) -> None:
    def story(seed: int) -> list[tuple[str, bool, bool, bool]]:
        shop = running(clock, receiver, seed=seed, duplicate_rate=0.3, reorder_rate=0.3, drop_rate=0.3)
        names = {}
        for i in range(12):
            order = shop.place_order(f"c{i}@example.com", [("MUG", 1, "9.50")])
            names[order] = shop.order(order).name
        shop.flush()
        return [(names[d.order_id], d.dropped, d.duplicated, d.reordered) for d in shop.deliveries]

    first = story(11)

    assert story(11) == first
    assert story(12) != first
    assert {(drop, dup, late) for _, drop, dup, late in first} >= {
        (True, False, False), (False, True, False), (False, False, True)}


def test_a_wrong_token_gets_401_and_changes_nothing(shop: ShopifyEmulator) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    request = {"query": "mutation TagsAdd { … }", "operationName": "TagsAdd",
               "variables": {"id": f"gid://shopify/Order/{order}", "tags": ["vip"]}}

    answer = httpx.post(f"{shop.url}/admin/api/2026-10/graphql.json", json=request,
                        headers={"X-Shopify-Access-Token": "wrong"})

    assert (answer.status_code, answer.json()) == (
        401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    assert shop.order(order).tags == ()


def test_a_short_bucket_answers_throttled_with_its_cost_report(shop: ShopifyEmulator) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.set_bucket(4)
    request = {"query": "mutation TagsAdd { … }", "operationName": "TagsAdd",
               "variables": {"id": f"gid://shopify/Order/{order}", "tags": ["vip"]}}

    answer = httpx.post(f"{shop.url}/admin/api/2026-10/graphql.json", json=request,
                        headers={"X-Shopify-Access-Token": shop.access_token})

    assert (answer.status_code, answer.json()) == (200, {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None, "throttleStatus": {
            "maximumAvailable": 1000.0, "currentlyAvailable": 4.0, "restoreRate": 50.0}}}})
    assert shop.order(order).tags == ()


def test_the_http_controls_place_cancel_and_list(shop: ShopifyEmulator, receiver: Receiver) -> None:
    placed = httpx.post(f"{shop.url}/_emulator/orders", json={
        "email": "a@example.com", "lines": [{"sku": "MUG", "quantity": 2, "price": "9.50"}]}).json()
    httpx.post(f"{shop.url}/_emulator/orders/{placed['id']}/cancel", json={"reason": "customer"})
    receiver.wait_for(3)

    listed = httpx.get(f"{shop.url}/_emulator/deliveries").json()

    assert placed["name"] == "#1001"
    assert shop.order(placed["id"]).cancelled is True
    assert [(d["topic"], d["order_id"], d["status_code"]) for d in listed] == [
        ("orders/create", placed["id"], 200), ("orders/cancelled", placed["id"], 200),
        ("orders/updated", placed["id"], 200)]
    assert numeric_id(f"gid://shopify/Order/{placed['id']}") == placed["id"]
