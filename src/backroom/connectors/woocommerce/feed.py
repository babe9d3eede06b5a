"""WooCommerce's order list (REST v3) as a reconciliation feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from backroom.connectors.reconcile import FeedItem, order_number
from backroom.connectors.woocommerce.client import WooCommerceClient, modified_at
from backroom.connectors.woocommerce.mapping import map_webhook, order_command
from backroom.errors import BackroomError
from backroom.orders import commands
from backroom.shared.messages import Command


class WooCommerceFeed:
    platform = "woocommerce"

    def __init__(self, client: WooCommerceClient, account: str) -> None:
        self.client = client
        self.account = account

    def updated_since(self, since: datetime) -> Iterator[FeedItem]:
        for order in self.client.orders_modified_since(since):
            yield feed_item(order)


def feed_item(order: dict[str, Any]) -> FeedItem:
    """The order's import, then what its status says happened since (as the order.updated webhook would)."""
    external_id = str(order.get("id") or "")
    updated = modified_at(order) or datetime.fromtimestamp(0, UTC)
    raw = json.dumps(order, separators=(",", ":"))
    number = order_number(str(order.get("number") or external_id))
    try:
        found: list[Command] = [commands.ImportOrders((order_command(order, f"woocommerce-poll:{external_id}"),))]
        follow = map_webhook("order.updated", raw.encode())
    except BackroomError as err:
        return FeedItem(external_id, number, updated, (), raw, f"{err.code}: {err.message}")
    if not isinstance(follow, commands.ImportOrders) and isinstance(follow, Command):
        found.append(follow)
    return FeedItem(external_id, number, updated, tuple(found), raw)
