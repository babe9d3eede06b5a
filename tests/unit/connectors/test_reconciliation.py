"""Reconciliation's pure parts: where a poll starts, which order numbers count as skipped, and the feeds' items."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backroom.connectors.reconcile import FeedItem, newest, order_number, since, skipped_numbers
from backroom.connectors.woocommerce.feed import feed_item as woo_item
from backroom.orders import commands

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_poll_starts_five_minutes_before_the_cursor_or_looks_back_on_its_first_run() -> None:
    assert since(NOW, NOW + timedelta(hours=1), timedelta(days=3)) == NOW - timedelta(minutes=5)
    assert since(None, NOW, timedelta(days=3)) == NOW - timedelta(days=3)


def test_skipped_numbers_ignore_the_newest_twenty_and_anything_before_the_first_seen() -> None:
    assert skipped_numbers([1001, 1002, *range(1004, 1031)]) == (1003,)
    assert skipped_numbers([1001, 1002, 1004, 1022]) == ()  # 1003 may still be on its way (within 20 of 1022)
    assert skipped_numbers([1001, 1003, 1025]) == (1002, 1004, 1005)
    assert skipped_numbers([1005]) == ()
    assert skipped_numbers([]) == ()


def test_order_numbers_are_read_from_platform_names() -> None:
    assert [order_number(n) for n in ("#1001", "1002", "SO-1003", 1004, "", None, "#" + "9" * 19)] == [
        1001, 1002, 1003, 1004, None, None, None]


def test_the_cursor_moves_to_the_newest_update_and_never_back() -> None:
    items = [FeedItem("1", 1, NOW - timedelta(hours=2), ()), FeedItem("2", 2, NOW - timedelta(hours=1), ())]
    assert newest(items, None) == NOW - timedelta(hours=1)
    assert newest(items, NOW) == NOW
    assert newest([], NOW - timedelta(days=1)) == NOW - timedelta(days=1)


def test_a_feed_item_is_recorded_under_the_order_version() -> None:
    assert FeedItem("820982911946154508", 1001, NOW, ()).version == "820982911946154508@2026-11-27T12:00:00+00:00"


def test_a_cancelled_woocommerce_order_is_imported_then_cancelled(shared_data: Path) -> None:
    example = shared_data / "connectors" / "woocommerce_rest_v3" / "json_examples" / "orders__retrieve_an_order.json"
    order = json.loads(example.read_text())
    order = {**order, "status": "cancelled", "date_modified_gmt": "2026-11-27T11:59:00"}
    item = woo_item(order)
    assert (item.external_id, item.updated_at, item.problem) == (str(order["id"]), NOW - timedelta(minutes=1), "")
    assert [type(c) for c in item.commands] == [commands.ImportOrders, commands.CancelOrderByReference]
    cancel = item.commands[1]
    assert isinstance(cancel, commands.CancelOrderByReference)
    assert (cancel.channel, cancel.external_id, cancel.reason, cancel.actor) == (
        "woocommerce", str(order["id"]), "cancelled in WooCommerce", "woocommerce")


def test_a_woocommerce_order_backroom_cannot_use_carries_its_problem_and_no_commands() -> None:
    item = woo_item({"id": 77, "number": "77", "status": "processing", "date_modified_gmt": "2026-11-27T12:00:00",
                     "billing": {}, "shipping": {}, "line_items": []})
    assert item.commands == ()
    assert item.problem.startswith("invalid_order: WooCommerce order #77: ")
    assert item.number == 77
