"""Answer fast, process after commit, on real PostgreSQL: deliveries recorded together in one INSERT, a repeat a
duplicate; received inputs imported oldest first and marked processed in the import's transaction, exactly once
however many processors and crashes; failures retried a bounded number of times, then kept as failed."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.conftest import rows, scalar, seed_catalog

from backroom.adapters.db import inbox as inbox_db
from backroom.adapters.db.engine import libpq_dsn
from backroom.bootstrap import Backroom
from backroom.orders.commands import ImportOrders
from backroom.service_layer.messagebus import InboxEntry, MessageBus

pytestmark = pytest.mark.integration


def shopify_body(number: int, sku: str = "LAMP", **changes: Any) -> bytes:
    gid = 9_007_199_254_740_993 + number
    address = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 High Street", "city": "London",
               "zip": "SW1A 2AA", "country_code": "GB"}
    return json.dumps({"id": gid, "admin_graphql_api_id": f"gid://shopify/Order/{gid}", "name": f"#{number}",
                       "email": f"buyer{number}@example.com", "currency": "GBP", "financial_status": "paid",
                       "created_at": "2026-11-27T09:00:00+00:00", "shipping_address": address,
                       "line_items": [{"id": 1, "sku": sku, "quantity": 1, "price": "20.00", "title": "Lamp"}],
                       **changes}).encode()


def arrival(app: Backroom, delivery_id: str, body: bytes, status: str = "received",
            topic: str = "orders/create") -> inbox_db.Arrival:
    return inbox_db.Arrival(app.store_id(), InboxEntry.from_raw("shopify", delivery_id, topic, body, {}), status,
                            None, app.clock.now())


def record(app: Backroom, *arrivals: inbox_db.Arrival) -> list[bool]:
    """Recorded as a request would, without waking a processor: the test decides when processing happens."""
    return inbox_db.record_arrivals(app.engine, arrivals)


def inbox(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT source_id, status, attempts, error FROM inbox ORDER BY id")]


@pytest.fixture
def lamps(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (100, 0)})


def test_deliveries_recorded_together_share_one_insert_and_a_repeat_is_a_duplicate(app: Backroom) -> None:
    first = record(app, arrival(app, "d-1", shopify_body(1)), arrival(app, "d-2", shopify_body(2)),
                   arrival(app, "d-1", shopify_body(1)))
    again = record(app, arrival(app, "d-2", shopify_body(2)))
    assert (first, again) == ([True, True, False], [False])
    assert inbox(app) == [("d-1", "received", 0, None), ("d-2", "received", 0, None)]


def test_a_good_redelivery_takes_over_a_rejected_or_failed_record_but_never_a_processed_one(app: Backroom) -> None:
    record(app, arrival(app, "bad-sig", b"forged", "rejected"), arrival(app, "outage", b"{}", "failed"),
           arrival(app, "done", b"{}", "processed"))
    again = record(app, *(arrival(app, d, shopify_body(n)) for n, d in enumerate(("bad-sig", "outage", "done"))))
    refused_again = record(app, arrival(app, "bad-sig", b"forged again", "rejected"))
    assert (again, refused_again) == ([True, True, False], [False])
    assert inbox(app) == [("bad-sig", "received", 0, None), ("outage", "received", 0, None),
                          ("done", "processed", 0, None)]


def test_received_inputs_are_imported_oldest_first_and_marked_processed(app: Backroom, lamps: None) -> None:
    record(app, *(arrival(app, f"d-{n}", shopify_body(n)) for n in (3, 1, 2)))
    taken = app.process_inbox()

    assert taken == [r[0] for r in rows(app, "SELECT id FROM inbox ORDER BY id")]
    assert rows(app, "SELECT number, status FROM orders ORDER BY id") == [
        ("#3", "fulfillment_requested"), ("#1", "fulfillment_requested"), ("#2", "fulfillment_requested")]
    assert inbox(app) == [("d-3", "processed", 1, None), ("d-1", "processed", 1, None), ("d-2", "processed", 1, None)]
    assert app.process_inbox() == []


def test_a_processor_killed_after_taking_inputs_leaves_them_received_for_the_next_one(
        app: Backroom, lamps: None) -> None:
    record(app, arrival(app, "d-1", shopify_body(1)), arrival(app, "d-2", shopify_body(2)))
    with inbox_db.store_lock(app.engine, app.store_id(), wait=False):
        taken = inbox_db.take_due(app.engine, app.store_id(), 10)  # ... and the process dies here
    assert [r.entry.source_id for r in taken] == ["d-1", "d-2"]
    assert inbox(app) == [("d-1", "received", 1, None), ("d-2", "received", 1, None)]

    app.process_inbox()
    assert rows(app, "SELECT number FROM orders ORDER BY id") == [("#1",), ("#2",)]
    assert inbox(app) == [("d-1", "processed", 2, None), ("d-2", "processed", 2, None)]


def test_processing_that_keeps_failing_is_retried_then_kept_as_failed_with_the_error_type_only(
        app: Backroom, lamps: None, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def broken_import(command: ImportOrders, uow: Any) -> Any:
        calls.append(len(command.orders))
        raise RuntimeError("cannot reach buyer1@example.com")

    app.bus = MessageBus(app.bus.uow_factory, {ImportOrders: broken_import})
    record(app, arrival(app, "d-1", shopify_body(1)))
    with caplog.at_level(logging.INFO):
        app.process_inbox()

    assert calls == [1, 1, 1]  # the test settings allow 3 attempts, with no backoff
    assert inbox(app) == [("d-1", "failed", 3, "RuntimeError")]
    assert scalar(app, "SELECT count(*) FROM orders") == 0
    assert not any("example.com" in r.getMessage() for r in caplog.records)
    assert app.process_inbox() == []  # failed is final: nothing due


def test_an_input_the_connector_cannot_read_is_rejected_with_its_code(app: Backroom) -> None:
    record(app, arrival(app, "d-1", json.dumps({"id": 1, "name": "#1", "currency": "GBP", "email": "a@b.example",
                                                "created_at": "2026-11-27T09:00:00+00:00"}).encode()),
           arrival(app, "d-2", b"{}", topic="products/update"))
    app.process_inbox()
    assert inbox(app) == [
        ("d-1", "rejected", 1, "invalid_order: Shopify order #1: shipping_address: Input should be a valid dictionary"
                               " or instance of AddressIn; lines: List should have at least 1 item after validation,"
                               " not 0"),
        ("d-2", "processed", 1, "ignored: nothing in the back office acts on it")]


def test_a_store_another_processor_holds_is_left_to_it_without_waiting(app: Backroom, lamps: None) -> None:
    record(app, arrival(app, "d-1", shopify_body(1)))
    with inbox_db.store_lock(app.engine, app.store_id(), wait=False) as held:
        assert held
        assert app.process_inbox(wait=False) == []
        with inbox_db.store_lock(app.engine, app.store_id(), wait=False) as also:
            assert not also
    assert inbox(app) == [("d-1", "received", 0, None)]
    assert app.process_inbox(wait=False) == [scalar(app, "SELECT id FROM inbox")]


def test_concurrent_deliveries_are_answered_once_durable_and_each_imported_exactly_once(
        app: Backroom, lamps: None) -> None:
    deliveries = [(f"d-{n % 40}", n % 40) for n in range(60)]  # 20 of them delivered twice, at the same time
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda d: app.accept_webhook(
            "shopify", d[0], "orders/create", shopify_body(d[1]), {}, "default").result(timeout=30).outcome,
            deliveries))
    app.process_inbox()  # whatever the processor thread has not finished yet

    assert sorted(outcomes) == ["accepted"] * 40 + ["duplicate"] * 20
    assert scalar(app, "SELECT count(*) FROM orders") == 40
    assert scalar(app, "SELECT count(DISTINCT external_id) FROM orders") == 40
    assert rows(app, "SELECT status, count(*) FROM inbox GROUP BY 1") == [("processed", 40)]


def test_the_listener_hears_each_recording_commit_with_the_stores_it_received_for(app: Backroom) -> None:
    heard: list[list[int]] = []
    listening, notified, stop = threading.Event(), threading.Event(), threading.Event()

    def wake(store_ids: list[int]) -> None:
        heard.append(store_ids)
        notified.set()

    listener = threading.Thread(target=inbox_db.listen_for_arrivals, args=(
        libpq_dsn(app.database_url), wake, listening.set, stop), kwargs={"check_s": 0.05})
    listener.start()
    try:
        assert listening.wait(timeout=10)
        inbox_db.record_arrivals(app.engine, [arrival(app, "ignored", b"{}", "processed")], notify=True)
        inbox_db.record_arrivals(app.engine, [arrival(app, "d-1", shopify_body(1))], notify=True)
        assert notified.wait(timeout=10)
    finally:
        stop.set()
        listener.join(timeout=10)
    assert heard == [[app.store_id()]]  # nothing for the input kept as processed
