"""The demo's Shopify leg, as `backroom demo` runs it: every order placed in the shop ends in backroom once and goes
back fulfilled once, whatever the webhooks did on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.config import Settings
from backroom.demo.shopify import run_shopify_demo
from backroom.entrypoints.api.server import serve_in_thread

pytestmark = pytest.mark.integration


def test_the_shopify_demo_loses_webhooks_and_still_ends_with_every_order_once(database_url: str,
                                                                              tmp_path: Path) -> None:
    result = run_shopify_demo(Settings(database_url=database_url, home=tmp_path), serve_in_thread, orders=30,
                              seed=7)

    assert (result.placed, result.by_webhook, result.found_by_poll, result.in_backroom) == (30, 25, 5, 30)
    assert (result.duplicates, result.late, result.lost) == (12, 13, 7)
    assert result.alert == "shopify webhooks missed 5 orders and 0 updates in 24 h"
    assert (result.shipped, result.fulfillments_in_shop) == (30, 30)
