"""Reconciliation polls against a platform's order list: skipped order numbers and a failing poll are alerted, an
order backroom cannot accept is kept as rejected, and the cursor only moves forward."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import order_body, rows, seed_catalog

from backroom.adapters.db.connections import get_connection, save_connection
from backroom.bootstrap import Backroom
from backroom.connectors.generic import parse_order
from backroom.connectors.reconcile import FeedItem
from backroom.connectors.shopify.client import ShopifyUnavailable
from backroom.orders import commands
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

ACCOUNT = "acme.myshopify.com"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class FakeFeed:
    platform = "shopify"
    account = ACCOUNT

    def __init__(self, items: list[FeedItem] | Exception) -> None:
        self.items = items
        self.asked: list[datetime] = []

    def updated_since(self, since: datetime) -> Iterator[FeedItem]:
        self.asked.append(since)
        if isinstance(self.items, Exception):
            raise self.items
        yield from self.items


def item(number: int, minutes: int, *, cancelled: bool = False) -> FeedItem:
    ext = str(number)
    order = parse_order(order_body(ext, {"TEE": 1}), channel="shopify", source_ref=f"shopify-poll:{ext}")
    found: tuple[commands.ImportOrders | commands.CancelOrderByReference, ...] = (commands.ImportOrders((order,)),)
    if cancelled:
        found += (commands.CancelOrderByReference("shopify", ext, "customer", "shopify"),)
    return FeedItem(ext, number, T0 + timedelta(minutes=minutes), found, f'{{"id": "{ext}"}}')


def alerts_now(app: Backroom) -> list[tuple[str, str, dict[str, object]]]:
    return [(n.notice.action.value, n.notice.alert.kind.value, n.notice.alert.detail)
            for n in app.check_alerts() or []]


def test_skipped_numbers_and_a_failing_poll_are_alerted_once_and_resolve(app: Backroom, clock: SimulatedClock) -> None:
    seed_catalog(app, {"TEE": (100, 0)})
    store_id = app.store_id()
    connection = save_connection(app.engine, store_id, "shopify", ACCOUNT, "https://b.example/webhooks/shopify", T0)
    numbers = [1001, 1002, *range(1004, 1030)]  # 1003 never comes
    feed = FakeFeed([item(n, i) for i, n in enumerate(numbers)])

    first = app.reconcile(connection, feed)

    assert (first.read, first.created, first.changed, first.rejected, first.skipped_numbers) == (28, 28, 0, 0, (1003,))
    assert first.cursor == T0 + timedelta(minutes=27)
    assert feed.asked == [app.clock.now() - timedelta(days=3)]
    assert alerts_now(app) == [
        ("opened", "webhooks_missed", {"created": 28, "changed": 0, "account": ACCOUNT}),
        ("opened", "order_numbers_skipped", {"numbers": [1003], "account": ACCOUNT})]

    # the next poll reads from the cursor (minus the overlap) and reports 1003 no more
    kept = get_connection(app.engine, "shopify", ACCOUNT)
    assert kept is not None
    cancelled = FakeFeed([item(1029, 40, cancelled=True)])
    second = app.reconcile(kept, cancelled)
    assert (second.read, second.created, second.changed, second.skipped_numbers) == (1, 0, 1, ())
    assert cancelled.asked == [T0 + timedelta(minutes=27) - timedelta(minutes=5)]
    assert rows(app, "SELECT status FROM orders WHERE external_id = '1029'") == [("cancelled",)]
    # webhooks still missing: both alerts stay open, with no new notice before their daily reminder
    assert alerts_now(app) == []

    # a failing poll keeps the cursor, says so on the connection, and opens its own alert
    kept = get_connection(app.engine, "shopify", ACCOUNT)
    assert kept is not None
    with pytest.raises(ShopifyUnavailable):
        app.reconcile(kept, FakeFeed(ShopifyUnavailable("502 after 5 attempts")))
    failed = get_connection(app.engine, "shopify", ACCOUNT)
    assert failed is not None
    polled = app.clock.now().isoformat()
    assert (failed.reconcile_cursor, failed.last_poll) == (T0 + timedelta(minutes=40), {
        "error": "ShopifyUnavailable", "recent": [[polled, 28, 0, [1003]], [polled, 0, 1, []]]})
    assert [(a, k) for a, k, _ in alerts_now(app)] == [("opened", "reconcile_failing")]

    # a day after the last poll that found something, what it found no longer holds the alerts open
    clock.advance(timedelta(hours=25))
    assert sorted((a, k) for a, k, _ in alerts_now(app)) == [("repeated", "reconcile_failing"),
                                                            ("resolved", "order_numbers_skipped"),
                                                            ("resolved", "webhooks_missed")]


def test_an_order_the_poll_cannot_accept_is_kept_as_rejected_once(app: Backroom) -> None:
    seed_catalog(app, {"TEE": (100, 0)})
    connection = save_connection(app.engine, app.store_id(), "shopify", ACCOUNT, "https://b.example/w", T0)
    bad = FeedItem("2001", 2001, T0, (), '{"id": "2001"}', "invalid_order: Shopify order #2001: email: required")

    result = app.reconcile(connection, FakeFeed([bad, item(2002, 1)]))

    assert (result.read, result.created, result.rejected) == (2, 1, 1)
    assert rows(app, "SELECT source, source_id, status, error FROM inbox WHERE source = 'shopify-poll'"
                     " ORDER BY source_id") == [
        ("shopify-poll", f"2001@{T0.isoformat()}", "rejected", "invalid_order: Shopify order #2001: email: required"),
        ("shopify-poll", f"2002@{(T0 + timedelta(minutes=1)).isoformat()}#0", "processed", None)]
