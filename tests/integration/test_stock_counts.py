"""A stock count replaces what the ledger says with one entry for the difference, under the row lock."""

from __future__ import annotations

import pytest
from tests.conftest import order_body, rows, seed_catalog

from backroom.bootstrap import Backroom
from backroom.errors import Conflict
from backroom.orders import commands

pytestmark = pytest.mark.integration


def test_a_count_books_the_difference_and_reports_the_level_before(app: Backroom) -> None:
    seed_catalog(app, {"TEE": (10, 0)})
    assert app.handle(commands.CountStock("TEE", "MAIN", 7, "count-1")) == 10
    assert app.handle(commands.CountStock("TEE", "MAIN", 7, "count-2")) == 7  # the same count again: no entry
    assert rows(app, "SELECT on_hand, reserved FROM stock_levels WHERE sku = 'TEE' AND location_id ="
                     " (SELECT id FROM locations WHERE code = 'MAIN')") == [(7, 0)]
    assert rows(app, "SELECT delta_on_hand, reason, reference FROM stock_ledger WHERE reference LIKE 'count-%'") == [
        (-3, "adjusted", "count-1")]


def test_a_count_below_what_orders_hold_is_refused_and_changes_nothing(app: Backroom) -> None:
    seed_catalog(app, {"TEE": (3, 0)})
    app.ingest_order(order_body("A1", {"TEE": 2}), {}, source_id="a1")
    with pytest.raises(Conflict) as err:
        app.handle(commands.CountStock("TEE", "MAIN", 1, "count-1"))
    assert (err.value.code, err.value.message) == ("stock_below_reserved",
                                                   "1 is fewer than the 2 units reserved for orders")
    assert rows(app, "SELECT on_hand, reserved FROM stock_levels WHERE sku = 'TEE' AND location_id ="
                     " (SELECT id FROM locations WHERE code = 'MAIN')") == [(3, 2)]
    assert rows(app, "SELECT count(*) FROM stock_ledger WHERE reference = 'count-1'") == [(0,)]


def test_a_count_that_finds_more_serves_the_backorder_queue_first(app: Backroom) -> None:
    seed_catalog(app, {"TEE": (0, 0)})
    app.ingest_order(order_body("B1", {"TEE": 2}), {}, source_id="b1")
    assert rows(app, "SELECT status FROM orders WHERE external_id = 'B1'") == [("backordered",)]
    assert app.handle(commands.CountStock("TEE", "MAIN", 5, "count-1")) == 0
    assert rows(app, "SELECT status FROM orders WHERE external_id = 'B1'") == [("fulfillment_requested",)]
    assert rows(app, "SELECT on_hand, reserved FROM stock_levels WHERE sku = 'TEE' AND location_id ="
                     " (SELECT id FROM locations WHERE code = 'MAIN')") == [(5, 2)]
