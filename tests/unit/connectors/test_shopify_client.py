"""The Shopify Admin GraphQL client against the emulator's store, in-process (``httpx.MockTransport``), on simulated
time: the client's sleeps advance the clock that both its cost budget and the emulator's bucket run on."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from backroom.config import ShopifySettings
from backroom.connectors.shopify.client import (
    API_VERSION,
    Cancellation,
    ShopifyClient,
    ShopifyError,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
    UserErrors,
    gid,
    numeric_id,
    orders_query_cost,
    topic_enum,
)
from backroom.connectors.shopify.throttle import (
    CostBudget,
    QueryCost,
    ThrottleStatus,
    budget_for,
    cost_from_extensions,
)
from backroom.emulator.shopify import EmulatedDiscount, EmulatedFulfillment, ShopifyEmulator
from backroom.errors import ConfigurationError, EffectFailed
from backroom.shared.clock import SimulatedClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SEED = 7


class Sleeper:
    """The client's sleep: records each pause and moves simulated time on by it."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def shop(clock: SimulatedClock) -> ShopifyEmulator:
    return ShopifyEmulator(clock=clock)


@pytest.fixture
def sleeper(clock: SimulatedClock) -> Sleeper:
    return Sleeper(clock)


def seconds(clock: SimulatedClock) -> float:
    return clock.now().timestamp()


def make_client(shop: ShopifyEmulator, clock: SimulatedClock, sleeper: Sleeper, *, token: str | None = None,
                max_attempts: int = 5, budget: CostBudget | None = None) -> ShopifyClient:
    return ShopifyClient(shop.shop, SecretStr(token or shop.access_token), base_url="https://emulator.test",
                         budget=budget or CostBudget(clock=lambda: seconds(clock)), sleep=sleeper,
                         rng=random.Random(SEED), transport=httpx.MockTransport(shop.handle),
                         max_attempts=max_attempts)


@pytest.fixture
def client(shop: ShopifyEmulator, clock: SimulatedClock, sleeper: Sleeper) -> Iterator[ShopifyClient]:
    with make_client(shop, clock, sleeper) as c:
        yield c


def backoffs(*attempts: int) -> list[float]:
    """What the client's jitter gives for these attempts (1 s base, half fixed, half from rng seeded SEED)."""
    rng = random.Random(SEED)
    out = []
    for attempt in attempts:
        ceiling = min(30.0, 2.0 ** (attempt - 1))
        out.append(ceiling / 2 + rng.random() * ceiling / 2)
    return out


# --- reading orders --------------------------------------------------------------------------------------------

def test_orders_updated_since_pages_through_every_order_oldest_update_first(
        shop: ShopifyEmulator, client: ShopifyClient, clock: SimulatedClock) -> None:
    placed = []
    for i in range(19):
        placed.append(shop.place_order(f"c{i}@example.com", [("MUG", 1, "9.50")]))
        clock.advance(timedelta(minutes=1))
    shop.update_order(placed[0], note="touched last")

    ids = [numeric_id(node["id"]) for node in client.orders_updated_since(START - timedelta(seconds=1))]

    assert ids == [*placed[1:], placed[0]]
    assert shop.requests == ["OrdersUpdatedSince"] * 3  # pages of 8, 8 and 3


def test_only_orders_updated_after_since_are_read(shop: ShopifyEmulator, client: ShopifyClient,
                                                   clock: SimulatedClock) -> None:
    shop.place_order("early@example.com", [("MUG", 1, "9.50")])
    clock.advance(timedelta(minutes=1))
    later = shop.place_order("later@example.com", [("MUG", 1, "9.50")])

    nodes = list(client.orders_updated_since(START + timedelta(seconds=30)))

    assert [n["id"] for n in nodes] == [f"gid://shopify/Order/{later}"]
    assert int(later) > 2**53  # exact beyond a JavaScript float


def test_an_order_with_more_lines_than_one_page_is_read_whole(shop: ShopifyEmulator, client: ShopifyClient) -> None:
    shop.place_order("big@example.com", [(f"SKU-{i}", 1, "1.00") for i in range(45)])

    (node,) = client.orders_updated_since(START - timedelta(seconds=1))

    assert [line["sku"] for line in node["lineItems"]["nodes"]] == [f"SKU-{i}" for i in range(45)]
    assert node["lineItems"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert shop.requests == ["OrdersUpdatedSince", "OrderLineItems"]


def test_a_page_that_would_cost_more_than_shopify_allows_is_refused_before_sending(
        shop: ShopifyEmulator, client: ShopifyClient) -> None:
    assert orders_query_cost(8, 20) == 850  # 2 + 8 × (4 + (2 + 20 × 4) + 5 × 4)
    with pytest.raises(ValueError, match="more than Shopify's 1000 points"):
        list(client.orders_updated_since(START, page_size=10))
    assert shop.requests == []


def test_a_query_shopify_finds_too_costly_is_rejected_not_retried(shop: ShopifyEmulator,
                                                                  client: ShopifyClient) -> None:
    variables = {"first": 50, "query": "", "lines": 20, "fulfillments": 5}
    with pytest.raises(ShopifyRejected) as caught:
        client.execute("OrdersUpdatedSince", "query OrdersUpdatedSince { … }", variables)
    assert caught.value.messages == (
        "Query cost is 5302, which exceeds the single query max cost limit (1000).",)
    assert caught.value.retryable is False
    assert shop.requests == ["OrdersUpdatedSince"]


# --- fulfilments -----------------------------------------------------------------------------------------------

def test_a_fulfillment_covers_the_open_fulfillment_orders_with_its_tracking(
        shop: ShopifyEmulator, client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 2, "9.50")])

    fulfillment = client.create_fulfillment(order, "UPS", "1Z999", "https://ups.test/1Z999", notify_customer=True)

    assert shop.fulfillments(order) == [EmulatedFulfillment(fulfillment, order, "UPS", "1Z999",
                                                            "https://ups.test/1Z999", True)]
    assert shop.order(order).fulfillment_order_statuses == ("CLOSED",)
    assert shop.requests == ["OrderFulfillmentState", "FulfillmentCreate"]


def test_the_same_shipment_twice_gives_the_same_fulfillment_without_a_second_create(
        shop: ShopifyEmulator, client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 2, "9.50")])
    first = client.create_fulfillment(order, "UPS", "1Z999")

    again = client.create_fulfillment(order, "UPS", "1Z999")

    assert again == first
    assert len(shop.fulfillments(order)) == 1
    assert shop.requests == ["OrderFulfillmentState", "FulfillmentCreate", "OrderFulfillmentState"]


def test_a_lost_fulfillment_response_is_not_retried_blindly(shop: ShopifyEmulator, client: ShopifyClient,
                                                             sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 2, "9.50")])
    shop.lose_next_response("FulfillmentCreate")

    fulfillment = client.create_fulfillment(order, "UPS", "1Z999")

    assert [f.id for f in shop.fulfillments(order)] == [fulfillment]
    assert shop.requests == ["OrderFulfillmentState", "FulfillmentCreate", "OrderFulfillmentState"]
    assert sleeper.pauses == backoffs(1)


def test_fulfilling_a_cancelled_order_is_refused_and_creates_nothing(shop: ShopifyEmulator,
                                                                    client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 2, "9.50")])
    shop.cancel_order(order)

    with pytest.raises(ShopifyRejected) as caught:
        client.create_fulfillment(order, "UPS", "1Z999")

    assert caught.value.messages == (f"order {order} has nothing left to fulfil",)
    assert shop.fulfillments(order) == []
    assert shop.requests == ["OrderFulfillmentState"]


# --- tags, notes, inventory, discounts, cancellation, webhooks --------------------------------------------------

def test_tags_are_added_and_the_note_set(shop: ShopifyEmulator, client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])

    client.add_tags(order, ["vip", " ", "gift"])
    client.add_tags(order, ["vip"])
    client.set_note(order, "leave with the neighbour")

    seen = shop.order(order)
    assert (seen.tags, seen.note) == (("vip", "gift"), "leave with the neighbour")


def test_tagging_an_order_shopify_does_not_have_is_refused_once(shop: ShopifyEmulator,
                                                                client: ShopifyClient) -> None:
    with pytest.raises(UserErrors) as caught:
        client.add_tags("123", ["vip"])
    assert caught.value.messages == ("Order does not exist",)
    assert shop.requests == ["TagsAdd"]


def test_an_inventory_adjustment_resent_after_a_lost_response_applies_once(
        shop: ShopifyEmulator, client: ShopifyClient, sleeper: Sleeper) -> None:
    item = shop.set_inventory("MUG", 10)
    shop.lose_next_response("InventoryAdjustQuantities")

    group = client.adjust_inventory(item, shop.location_id, -3, reference="movement-41")

    assert (group or "").startswith("gid://shopify/InventoryAdjustmentGroup/")
    assert shop.inventory_level("MUG") == 7
    assert shop.requests == ["InventoryAdjustQuantities", "InventoryAdjustQuantities"]
    assert sleeper.pauses == backoffs(1)


def test_two_references_are_two_adjustments_and_a_zero_delta_sends_nothing(shop: ShopifyEmulator,
                                                                          client: ShopifyClient) -> None:
    item = shop.set_inventory("MUG", 10)

    first = client.adjust_inventory(item, shop.location_id, -3, reference="movement-41")
    second = client.adjust_inventory(item, shop.location_id, -3, reference="movement-42")
    nothing = client.adjust_inventory(item, shop.location_id, 0, reference="movement-43")

    assert first != second
    assert nothing is None
    assert shop.inventory_level("MUG") == 4
    assert shop.requests == ["InventoryAdjustQuantities"] * 2


def test_a_discount_code_is_created_once_and_found_the_second_time(shop: ShopifyEmulator,
                                                                   client: ShopifyClient) -> None:
    ends = datetime(2027, 1, 1, tzinfo=UTC)
    made = client.create_discount_code("SORRY-1001", percentage=Decimal("15"), ends_at=ends, title="Sorry",
                                       starts_at=START)

    again = client.create_discount_code("sorry-1001", percentage=Decimal("15"), ends_at=ends, title="Sorry")

    assert again == made
    assert shop.discount_codes() == [EmulatedDiscount(made, "SORRY-1001", "Sorry", Decimal("0.15"), None,
                                                      "2026-11-27T09:00:00Z", "2027-01-01T00:00:00Z", 1, True)]
    assert shop.requests == ["DiscountCodeByCode", "DiscountCodeBasicCreate", "DiscountCodeByCode"]


def test_a_discount_created_by_an_answer_that_was_lost_is_found_on_retry(shop: ShopifyEmulator,
                                                                         client: ShopifyClient) -> None:
    shop.lose_next_response("DiscountCodeBasicCreate")

    made = client.create_discount_code("TENOFF", amount=Decimal("10.00"), ends_at=datetime(2027, 1, 1, tzinfo=UTC),
                                       title="Ten off")

    assert [(d.id, d.code, d.amount) for d in shop.discount_codes()] == [(made, "TENOFF", Decimal("10.00"))]
    assert shop.requests == ["DiscountCodeByCode", "DiscountCodeBasicCreate", "DiscountCodeBasicCreate",
                             "DiscountCodeByCode"]


def test_a_discount_needs_exactly_one_of_percentage_and_amount(shop: ShopifyEmulator, client: ShopifyClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client.create_discount_code("X", ends_at=datetime(2027, 1, 1, tzinfo=UTC), title="x")
    assert shop.requests == []


def test_cancelling_cancels_once_and_a_cancelled_order_is_a_success(shop: ShopifyEmulator,
                                                                    client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])

    first = client.cancel_order(order, "customer", restock=True, notify_customer=False, refund=True)
    second = client.cancel_order(order, "customer", restock=True, notify_customer=False, refund=True)

    assert (first.already_cancelled, first.job_id is not None) == (False, True)
    assert second == Cancellation(order, already_cancelled=True, job_id=None)
    seen = shop.order(order)
    assert (seen.cancelled, seen.cancel_reason, seen.financial_status) == (True, "customer", "refunded")
    assert shop.requests == ["OrderCancelState", "OrderCancel", "OrderCancelState"]


def test_a_free_text_reason_cancels_as_other(shop: ShopifyEmulator, client: ShopifyClient) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")], financial_status="pending")

    client.cancel_order(order, "address undeliverable", restock=True, notify_customer=True, refund=False)

    seen = shop.order(order)
    assert (seen.cancel_reason, seen.financial_status) == ("other", "voided")


def test_webhooks_are_created_where_missing_and_left_where_they_exist(shop: ShopifyEmulator,
                                                                      client: ShopifyClient) -> None:
    shop.subscribe("orders/create", "https://backroom.test/hooks/shopify")

    result = client.ensure_webhooks("https://backroom.test/hooks/shopify", ["orders/create", "orders/cancelled"])
    again = client.ensure_webhooks("https://backroom.test/hooks/shopify", ["orders/cancelled"])

    assert result == {"orders/create": "exists", "orders/cancelled": "created"}
    assert again == {"orders/cancelled": "exists"}
    assert shop.webhook_subscriptions() == [("ORDERS_CREATE", "https://backroom.test/hooks/shopify"),
                                            ("ORDERS_CANCELLED", "https://backroom.test/hooks/shopify")]


# --- failures, retries, throttling -----------------------------------------------------------------------------

def test_a_wrong_token_is_rejected_at_once_and_never_shown(shop: ShopifyEmulator, clock: SimulatedClock,
                                                          sleeper: Sleeper, caplog: pytest.LogCaptureFixture) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    caplog.set_level(logging.DEBUG)
    with make_client(shop, clock, sleeper, token="shpat_not-the-right-one") as wrong, \
            pytest.raises(ShopifyRejected) as caught:
        wrong.add_tags(order, ["vip"])

    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert caught.value.messages == ("[API] Invalid API key or access token (unrecognized login or wrong password)",)
    assert isinstance(caught.value, EffectFailed)
    assert "shpat_not-the-right-one" not in f"{caught.value} {caught.value!r} {wrong!r} {caplog.text}"
    assert shop.order(order).tags == ()
    assert sleeper.pauses == []


def test_server_errors_are_retried_with_backoff_until_one_succeeds(shop: ShopifyEmulator, client: ShopifyClient,
                                                                  sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.fail_next(503, times=2)

    client.add_tags(order, ["vip"])

    assert shop.order(order).tags == ("vip",)
    assert shop.requests == ["TagsAdd"] * 3
    assert sleeper.pauses == backoffs(1, 2)


def test_server_errors_on_every_attempt_end_in_a_retryable_error(shop: ShopifyEmulator, clock: SimulatedClock,
                                                                 sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.fail_next(502, times=5)

    with make_client(shop, clock, sleeper, max_attempts=3) as c, pytest.raises(ShopifyUnavailable) as caught:
        c.add_tags(order, ["vip"])

    assert (caught.value.status, caught.value.retryable, caught.value.code) == (502, True, "shopify_unavailable")
    assert shop.order(order).tags == ()
    assert shop.requests == ["TagsAdd"] * 3
    assert sleeper.pauses == backoffs(1, 2)


def test_a_lost_connection_is_retried(shop: ShopifyEmulator, clock: SimulatedClock, sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return shop.handle(request)

    with ShopifyClient(shop.shop, SecretStr(shop.access_token), base_url="https://emulator.test",
                       budget=CostBudget(clock=lambda: seconds(clock)), sleep=sleeper, rng=random.Random(SEED),
                       transport=httpx.MockTransport(flaky)) as c:
        c.set_note(order, "hello")

    assert shop.order(order).note == "hello"
    assert len(calls) == 2
    assert sleeper.pauses == backoffs(1)


def test_http_429_waits_for_retry_after(shop: ShopifyEmulator, client: ShopifyClient, sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.fail_next(429, retry_after=2.5)

    client.add_tags(order, ["vip"])

    assert shop.order(order).tags == ("vip",)
    assert sleeper.pauses == [2.5]


def test_a_throttled_call_waits_until_the_bucket_holds_its_cost_then_runs(
        shop: ShopifyEmulator, client: ShopifyClient, sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.set_bucket(2)  # spent by another process of the same app: our budget does not know

    client.add_tags(order, ["vip"])

    assert shop.order(order).tags == ("vip",)
    assert shop.requests == ["TagsAdd", "TagsAdd"]
    assert sleeper.pauses == [pytest.approx((10 - 2) / 50)]  # a mutation costs 10; 50 points a second come back


def test_still_throttled_after_every_attempt_is_a_retryable_error(shop: ShopifyEmulator, clock: SimulatedClock,
                                                                  sleeper: Sleeper) -> None:
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    shop.fail_next(429, times=3, retry_after=1)

    with make_client(shop, clock, sleeper, max_attempts=3) as c, pytest.raises(ShopifyThrottled) as caught:
        c.add_tags(order, ["vip"])

    assert (caught.value.retryable, caught.value.status) == (True, 429)
    assert shop.order(order).tags == ()
    assert sleeper.pauses == [1.0, 1.0]


def test_the_budget_makes_a_call_wait_instead_of_being_throttled(clock: SimulatedClock, sleeper: Sleeper) -> None:
    shop = ShopifyEmulator(clock=clock, bucket_max=100, restore_rate=10)
    order = shop.place_order("a@example.com", [("MUG", 1, "9.50")])
    budget = CostBudget(100, 10, clock=lambda: seconds(clock))

    with make_client(shop, clock, sleeper, budget=budget) as c:
        for i in range(11):  # the first reserves the default 50 and learns that a mutation costs 10
            c.add_tags(order, [f"t{i}"])

    assert shop.requests == ["TagsAdd"] * 11  # never throttled
    assert sleeper.pauses == [pytest.approx(1.0)]  # the eleventh waits for 10 points at 10 a second
    assert shop.bucket() == pytest.approx(0.0)


def test_clients_of_one_shop_share_one_budget() -> None:
    token = SecretStr("t")
    with ShopifyClient("Shared.myshopify.com", token) as a, ShopifyClient("shared.myshopify.com", token) as b, \
            ShopifyClient("other.myshopify.com", token) as other:
        assert a.budget is b.budget is budget_for("shared.myshopify.com")
        assert other.budget is not a.budget


# --- the cost budget's arithmetic ------------------------------------------------------------------------------

class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_call_go_at_once_and_refills_at_the_restore_rate() -> None:
    time = Monotonic()
    budget = CostBudget(1000, 50, clock=time)

    assert budget.reserve(300) == 0.0
    assert budget.available() == 700
    time.now += 2
    assert budget.available() == 800
    time.now += 60
    assert budget.available() == 1000  # never above the maximum


def test_callers_queue_for_the_refill_each_waiting_their_turn() -> None:
    time = Monotonic()
    budget = CostBudget(100, 10, clock=time)

    waits = [budget.reserve(40) for _ in range(4)]

    assert waits == [0.0, 0.0, 2.0, 6.0]
    assert budget.available() == -60


def test_a_cost_above_the_bucket_waits_for_a_full_bucket_not_forever() -> None:
    time = Monotonic()
    budget = CostBudget(100, 10, clock=time)
    budget.reserve(100)

    assert budget.reserve(500) == 10.0


def test_settling_refunds_the_over_estimate_and_learns_the_operation_cost() -> None:
    time = Monotonic()
    budget = CostBudget(1000, 50, clock=time)
    reserved = budget.estimate("OrdersUpdatedSince")
    budget.reserve(reserved)

    budget.settle("OrdersUpdatedSince", reserved, QueryCost(810, 42, ThrottleStatus(1000, 958, 50)))

    assert (reserved, budget.available(), budget.estimate("OrdersUpdatedSince")) == (50.0, 958, 810)


def test_settling_never_believes_more_than_shopify_reports_and_adopts_its_bucket() -> None:
    time = Monotonic()
    budget = CostBudget(1000, 50, clock=time)
    budget.reserve(10)

    budget.settle("TagsAdd", 10, QueryCost(10, 10, ThrottleStatus(2000, 300, 100)))

    assert (budget.available(), budget.maximum, budget.restore_rate) == (300, 2000, 100)
    time.now += 1
    assert budget.available() == 400


def test_a_throttled_call_gives_back_its_whole_reservation() -> None:
    time = Monotonic()
    budget = CostBudget(1000, 50, clock=time)
    budget.reserve(50)

    budget.settle("Big", 50, QueryCost(752, None, ThrottleStatus(1000, 666, 50)), ran=False)

    assert budget.available() == 666
    assert budget.wait_for(budget.estimate("Big")) == pytest.approx((752 - 666) / 50)


def test_concurrent_reservations_are_each_counted_once() -> None:
    time = Monotonic()
    budget = CostBudget(1000, 50, clock=time)
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def take() -> None:
        start.wait()
        wait = budget.reserve(100)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(waits) == [0.0] * 10 + [2.0, 4.0]
    assert budget.available() == -200


def test_the_cost_report_is_read_from_shopifys_throttled_answer() -> None:
    extensions = {"cost": {"requestedQueryCost": 752, "actualQueryCost": None, "throttleStatus": {
        "maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}

    assert cost_from_extensions(extensions) == QueryCost(752.0, None, ThrottleStatus(1000.0, 666.0, 50.0))
    assert cost_from_extensions({}) is None
    assert cost_from_extensions({"cost": {"throttleStatus": {"maximumAvailable": "lots"}}}) == QueryCost(
        None, None, None)


# --- ids, settings ---------------------------------------------------------------------------------------------

def test_ids_go_in_and_out_as_exact_digits() -> None:
    assert gid("Order", "9007199254740993") == "gid://shopify/Order/9007199254740993"
    assert gid("Order", "gid://shopify/Order/9007199254740993") == "gid://shopify/Order/9007199254740993"
    assert numeric_id("gid://shopify/Order/9007199254740993") == "9007199254740993"
    with pytest.raises(ValueError, match="not a Shopify Order id"):
        gid("Order", "gid://shopify/Customer/1")
    assert [topic_enum(t) for t in ("orders/create", "fulfillments/create", "app/uninstalled")] == [
        "ORDERS_CREATE", "FULFILLMENTS_CREATE", "APP_UNINSTALLED"]


def test_a_client_is_made_from_the_settings_of_its_shop(shop: ShopifyEmulator) -> None:
    settings = ShopifySettings(access_tokens={"Acme.myshopify.com": SecretStr("shpat_x")},
                               api_urls={"acme.myshopify.com": "http://127.0.0.1:9/"})

    with ShopifyClient.from_settings(settings, "acme.myshopify.com") as c:
        assert c.endpoint == f"http://127.0.0.1:9/admin/api/{API_VERSION}/graphql.json"
    with pytest.raises(ConfigurationError, match=r"no Shopify Admin API token for other\.myshopify\.com"):
        ShopifyClient.from_settings(settings, "other.myshopify.com")
    assert ShopifySettings().api_version == API_VERSION
    assert "shpat_x" not in repr(settings)


def test_the_exception_tree_has_stable_codes() -> None:
    assert [c.code for c in (ShopifyError, ShopifyThrottled, ShopifyUnavailable, ShopifyRejected, UserErrors)] == [
        "shopify_error", "shopify_throttled", "shopify_unavailable", "shopify_rejected", "shopify_rejected"]
    assert issubclass(UserErrors, ShopifyRejected)
    assert issubclass(ShopifyError, EffectFailed)
