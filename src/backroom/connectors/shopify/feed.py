"""Shopify's order list (GraphQL Admin API) as a reconciliation feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from backroom.connectors.reconcile import FeedItem, order_number
from backroom.connectors.shopify.client import ShopifyClient
from backroom.connectors.shopify.mapping import follow_up_commands, order_from_graphql
from backroom.errors import BackroomError
from backroom.orders import commands


class ShopifyFeed:
    platform = "shopify"

    def __init__(self, client: ShopifyClient, account: str) -> None:
        self.client = client
        self.account = account

    def updated_since(self, since: datetime) -> Iterator[FeedItem]:
        for node in self.client.orders_updated_since(since):
            yield feed_item(node)


def feed_item(node: dict[str, object]) -> FeedItem:
    external_id = str(node.get("id") or "").rsplit("/", 1)[-1]
    updated = datetime.fromisoformat(str(node.get("updatedAt")).replace("Z", "+00:00"))
    raw = json.dumps(node, separators=(",", ":"))
    number = order_number(str(node.get("name") or ""))
    try:
        order = order_from_graphql(node, f"shopify-poll:{external_id}")
        follow = follow_up_commands(node)
    except BackroomError as err:
        return FeedItem(external_id, number, updated, (), raw, f"{err.code}: {err.message}")
    # RecordPayment imports an order backroom never saw, and applies a payment its webhook never brought
    return FeedItem(external_id, number, updated, (commands.RecordPayment(order), *follow), raw)
