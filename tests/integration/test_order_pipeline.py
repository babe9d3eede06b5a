"""The order pipeline on real PostgreSQL: concurrency, duplicates, exceptions, backorders, cancellation, shadow."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from tests.conftest import HttpReceiver, order_body, rows, scalar, seed_catalog

from backroom.adapters.db import queries
from backroom.bootstrap import Backroom
from backroom.errors import Conflict, InvalidInput
from backroom.orders import commands

pytestmark = pytest.mark.integration


def test_64_concurrent_buyers_of_the_last_units_reserve_exactly_the_units_there_are(app: Backroom) -> None:
    seed_catalog(app, {"LAST": (7, 3)})
    barrier = threading.Barrier(64)

    def buy(n: int) -> str:
        barrier.wait()
        return str(app.ingest_order(order_body(f"buyer-{n}", {"LAST": 1}), {}, source="api").status)

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(buy, range(64)))

    assert statuses.count("fulfillment_requested") == 10
    assert statuses.count("backordered") == 54
    assert scalar(app, "SELECT sum(on_hand) FROM stock_levels WHERE sku = 'LAST'") == 10
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels WHERE sku = 'LAST'") == 10
    assert scalar(app, "SELECT sum(quantity) FROM reservations WHERE sku = 'LAST'") == 10
    assert scalar(app, "SELECT count(*) FROM orders WHERE backorder_seq IS NOT NULL") == 54
    assert scalar(app, "SELECT min(on_hand - reserved) FROM stock_levels") == 0


def test_database_refuses_negative_stock_even_when_code_is_bypassed(app: Backroom) -> None:
    seed_catalog(app, {"SKU": (1, 0)})
    with pytest.raises(IntegrityError), app.engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET on_hand = -1 WHERE sku = 'SKU'"))
    with pytest.raises(IntegrityError), app.engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET reserved = on_hand + 1 WHERE sku = 'SKU'"))
    assert scalar(app, "SELECT sum(on_hand) FROM stock_levels WHERE sku = 'SKU'") == 1


def test_same_order_delivered_1_to_8_times_shuffled_yields_one_of_everything(
    app: Backroom, mail, warehouse: HttpReceiver
) -> None:
    seed_catalog(app, {"A": (100, 0), "B": (100, 0)})
    rng = random.Random(11)
    deliveries = []
    for n in range(25):
        copies = rng.randint(1, 8)
        deliveries += [(f"dlv-{n}", order_body(f"o-{n}", {"A": 1, "B": 2}))] * copies
    rng.shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda d: app.ingest_order(d[1], {}, "shop", d[0]).outcome, deliveries))
    app.drain()

    assert outcomes.count("created") == 25
    assert len(outcomes) - 25 == outcomes.count("duplicate") + outcomes.count("existing")
    assert scalar(app, "SELECT count(*) FROM orders") == 25
    assert scalar(app, "SELECT count(*) FROM inbox") == 25
    assert scalar(app, "SELECT count(*) FROM reservations") == 50
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 75
    assert len(warehouse.requests) == 25
    assert len(set(warehouse.keys())) == 25
    confirmations = [m for m in mail.messages if m["Subject"].startswith("Your order #o-")]
    assert len(confirmations) == 25
    assert len({m["Message-ID"] for m in confirmations}) == 25


def test_same_order_under_a_new_delivery_id_is_recognised_and_not_imported_twice(app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    first = app.ingest_order(order_body("o-1", {"A": 1}), {}, "shop", "delivery-1")
    second = app.ingest_order(order_body("o-1", {"A": 1}), {}, "shop", "delivery-2")
    assert (first.outcome, second.outcome, second.order_id) == ("created", "existing", first.order_id)
    assert (first.status, second.status) == ("fulfillment_requested", "fulfillment_requested")
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b'{"id": "x"}', "invalid_order"),
        (order_body("neg", {"A": 1}).replace(b'"quantity": 1', b'"quantity": 0'), "invalid_order"),
    ],
)
def test_malformed_input_is_rejected_kept_and_changes_nothing(app: Backroom, body: bytes, code: str) -> None:
    seed_catalog(app, {"A": (5, 0)})
    with pytest.raises(InvalidInput) as err:
        app.ingest_order(body, {"X-Trace": "t1"}, "api", "bad-1")
    assert err.value.code == code
    (row,) = rows(app, "SELECT status, body, error FROM inbox")
    assert (row.status, row.body) == ("rejected", body.decode())
    assert row.error.startswith(code)
    for table in ("orders", "reservations", "effects", "review_items", "events"):
        assert scalar(app, f"SELECT count(*) FROM {table}") == 0
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 0


def test_each_exception_goes_to_review_with_its_reason_and_holds_fulfillment(app: Backroom, warehouse) -> None:
    seed_catalog(app, {"A": (50, 0)})
    app.ingest_order(order_body("bad-address", {"A": 1}, postal_code="NOT A CODE"), {}, "api")
    app.ingest_order(order_body("failed", {"A": 1}, payment="failed"), {}, "api")
    app.ingest_order(order_body("unknown", {"NOPE": 1}), {}, "api")
    app.ingest_order(order_body("big", {"A": 1}, price="1500.00"), {}, "api")
    app.ingest_order(order_body("twin-1", {"A": 2}, email="twin@example.com"), {}, "api")
    app.ingest_order(order_body("twin-2", {"A": 2}, email="twin@example.com"), {}, "api")
    app.drain()

    reasons = dict(rows(app, "SELECT o.external_id, r.reason_code FROM review_items r"
                             " JOIN orders o ON o.id = r.subject_id"))
    assert reasons == {"bad-address": "address_invalid", "failed": "payment_failed", "unknown": "unknown_sku",
                       "big": "high_value", "twin-2": "duplicate_order"}
    assert [b["order_number"] for b in warehouse.bodies()] == ["#twin-1"]
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 1 + 1 + 2 + 2  # failed & unknown hold none


def test_approving_a_held_order_sends_it_to_the_warehouse_once(app: Backroom, warehouse: HttpReceiver) -> None:
    seed_catalog(app, {"A": (5, 0)})
    order = app.ingest_order(order_body("big", {"A": 1}, price="1500.00"), {}, "api")
    item_id = scalar(app, "SELECT id FROM review_items")

    app.handle(commands.ResolveReviewItem(item_id, "approve", "owner@shop"))
    with pytest.raises(Conflict):
        app.handle(commands.ResolveReviewItem(item_id, "approve", "owner@shop"))
    app.drain()

    assert queries.order_detail(app.engine, app.store_id(), order.order_id)["status"] == "fulfillment_requested"
    assert len(warehouse.requests) == 1
    assert scalar(app, "SELECT resolved_by FROM review_items WHERE id = :i", i=item_id) == "owner@shop"


def test_backorders_are_served_first_in_first_out_when_stock_arrives(app: Backroom, mail) -> None:
    seed_catalog(app, {"A": (1, 0)})
    ids = [app.ingest_order(order_body(f"o-{n}", {"A": 1}), {}, "api").order_id for n in range(4)]

    allocated = app.handle(commands.ReceiveStock("A", "MAIN", 2, "PO-1"))
    app.drain()

    statuses = [queries.order_detail(app.engine, app.store_id(), i)["status"] for i in ids]
    assert allocated == 2
    assert statuses == ["fulfillment_requested", "fulfillment_requested", "fulfillment_requested", "backordered"]
    subjects = sorted(m["Subject"] for m in mail.messages if "on its way to our warehouse" in m["Subject"])
    assert subjects == [f"Good news: your order #o-{n} is on its way to our warehouse" for n in (1, 2)]
    assert scalar(app, "SELECT count(*) FROM review_items WHERE status = 'open' AND reason_code = 'backorder'") == 1


def test_cancelling_an_unfulfilled_order_releases_stock_to_the_next_in_line(app: Backroom, warehouse) -> None:
    seed_catalog(app, {"A": (1, 0)})
    first = app.ingest_order(order_body("o-1", {"A": 1}), {}, "api").order_id
    second = app.ingest_order(order_body("o-2", {"A": 1}), {}, "api").order_id

    app.handle(commands.CancelOrder(first, "changed mind", "customer"))
    app.drain()

    assert queries.order_detail(app.engine, app.store_id(), second)["status"] == "fulfillment_requested"
    assert [b["order_number"] for b in warehouse.bodies()] == ["#o-2"]  # o-1's request was withdrawn unsent
    assert scalar(app, "SELECT status FROM effects WHERE key LIKE 'fulfillment-request:order-' || :i || ':%'",
                  i=first) == "cancelled"


def test_shipped_order_cannot_be_cancelled_and_stock_leaves_the_shelf(app: Backroom, mail) -> None:
    seed_catalog(app, {"A": (3, 0)})
    order_id = app.ingest_order(order_body("o-1", {"A": 2}), {}, "api").order_id
    app.handle(commands.RecordShipment(order_id, "DPD", "TRK123"))
    app.handle(commands.RecordShipment(order_id, "DPD", "TRK123"))  # a repeated tracking update is a no-op
    with pytest.raises(Conflict):
        app.handle(commands.CancelOrder(order_id))
    app.handle(commands.RecordDelivery(order_id))
    app.drain()

    assert scalar(app, "SELECT on_hand || '/' || reserved FROM stock_levels WHERE location_id = "
                       "(SELECT id FROM locations WHERE code = 'MAIN')") == "1/0"
    assert scalar(app, "SELECT count(*) FROM shipments") == 1
    shipped = [m for m in mail.messages if m["Subject"] == "Your order #o-1 has shipped"]
    assert len(shipped) == 1
    assert "TRK123" in shipped[0].get_body(("plain",)).get_content()


def test_shadow_mode_records_what_would_have_happened_and_sends_nothing(app: Backroom, mail, warehouse) -> None:
    seed_catalog(app, {"A": (5, 0)})
    queries.set_automation_mode(app.engine, app.store_id(), "fulfillment", "shadow")
    queries.set_automation_mode(app.engine, app.store_id(), "customer_emails", "shadow")
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")
    app.drain()

    assert warehouse.requests == []
    assert mail.messages == []
    assert dict(rows(app, "SELECT kind, status FROM effects")) == {
        "fulfillment_request": "shadowed", "email": "shadowed"}
    assert scalar(app, "SELECT count(*) FROM procrastinate_jobs") == 0


def test_stores_are_isolated_from_each_other(app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)}, store="shop-one")
    seed_catalog(app, {"A": (0, 0)}, store="shop-two")
    one = app.ingest_order(order_body("o-1", {"A": 1}), {}, "api", store="shop-one")
    two = app.ingest_order(order_body("o-1", {"A": 1}), {}, "api", store="shop-two")

    assert (one.status, two.status) == ("fulfillment_requested", "backordered")
    assert one.order_id != two.order_id
    assert [o["id"] for o in queries.list_orders(app.engine, app.store_id("shop-two"))] == [two.order_id]


def test_a_rejected_input_does_not_block_a_good_redelivery_under_the_same_id(app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    with pytest.raises(InvalidInput):
        app.ingest_order(b"{truncated", {}, "shop", "dlv-1")
    outcome = app.ingest_order(order_body("o-1", {"A": 1}), {}, "shop", "dlv-1")

    assert outcome.outcome == "created"
    assert rows(app, "SELECT status, error FROM inbox") == [("processed", None)]


def test_cancelling_a_split_order_tells_each_location_that_already_has_its_request(
    app: Backroom, warehouse: HttpReceiver
) -> None:
    locations = seed_catalog(app, {"A": (1, 0), "B": (0, 1)})
    order_id = app.ingest_order(order_body("split", {"A": 1, "B": 1}), {}, "api").order_id
    app.drain()

    app.handle(commands.CancelOrder(order_id, "changed mind", "customer"))
    app.drain()

    requests = [(r["headers"]["X-Backroom-Type"], json.loads(r["body"])) for r in warehouse.requests]
    assert [(kind, body["location_id"], [ln["sku"] for ln in body["lines"]]) for kind, body in requests] == [
        ("fulfillment_request", locations["MAIN"], ["A"]),
        ("fulfillment_request", locations["SHOP"], ["B"]),
        ("fulfillment_cancel", locations["MAIN"], ["A"]),
        ("fulfillment_cancel", locations["SHOP"], ["B"]),
    ]


def test_a_failing_effect_is_retried_then_reviewed_and_a_human_retry_delivers_it_once(
    app: Backroom, warehouse: HttpReceiver, mail
) -> None:
    seed_catalog(app, {"A": (5, 0)})
    warehouse.status = 503
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")
    app.drain()  # max_attempts=3 and no backoff in the test settings: three calls, then the review queue

    (effect,) = rows(app, "SELECT id, status, attempts, last_error FROM effects WHERE kind = 'fulfillment_request'")
    (item,) = rows(app, "SELECT id, reason_code, subject_type, subject_id, allowed_actions, status FROM review_items")
    assert (effect.status, effect.attempts, effect.last_error) == ("failed", 3, "EffectFailed: warehouse answered 503")
    assert (item.reason_code, item.subject_type, item.subject_id, item.allowed_actions, item.status) == (
        "fulfillment_failed", "effect", effect.id, ["retry", "dismiss"], "open")
    assert len(warehouse.requests) == 3
    assert len(set(warehouse.keys())) == 1

    warehouse.status = 200
    app.handle(commands.ResolveReviewItem(item.id, "retry", "owner@shop"))
    app.drain()

    assert scalar(app, "SELECT status || '/' || attempts FROM effects WHERE id = :i", i=effect.id) == "done/1"
    assert scalar(app, "SELECT status FROM review_items WHERE id = :i", i=item.id) == "resolved"
    assert len(warehouse.requests) == 4
    assert [m["Subject"] for m in mail.messages] == ["Your order #o-1 is confirmed"]


def test_the_same_order_arriving_at_once_under_different_delivery_ids_is_imported_once(app: Backroom) -> None:
    seed_catalog(app, {"A": (50, 0)})
    barrier = threading.Barrier(16)

    def deliver(n: int) -> tuple[str, int | None]:
        barrier.wait()
        outcome = app.ingest_order(order_body("o-1", {"A": 1}), {}, "shop", f"delivery-{n}")
        return outcome.outcome, outcome.order_id

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(deliver, range(16)))

    assert sorted(o for o, _ in outcomes) == ["created"] + ["existing"] * 15
    assert len({order_id for _, order_id in outcomes}) == 1
    assert scalar(app, "SELECT count(*) FROM orders") == 1
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 1


def test_the_sweeper_requeues_an_effect_whose_job_was_lost_once_per_grace_period(app: Backroom, warehouse) -> None:
    seed_catalog(app, {"A": (5, 0)})
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")
    with app.engine.begin() as conn:  # the jobs vanish and the effects look long overdue
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(text("UPDATE effects SET next_attempt_at = now() - interval '10 minutes'"))

    first = app.runner.sweep(timedelta(seconds=60))
    second = app.runner.sweep(timedelta(seconds=60))
    app.drain()

    assert (first, second) == (2, 0)
    assert len(warehouse.requests) == 1
    assert scalar(app, "SELECT count(*) FROM effects WHERE status = 'done'") == 2
