"""Telling a connected store what backroom did: its orders fulfilled with tracking, or cancelled.

Effects of the ``platform_sync`` automation (``platform_fulfillment``, ``platform_cancel``), run like every effect:
at least once by workers, exactly once in effect because each call is idempotent on the platform's side (an
existing fulfillment with the same tracking number is returned, not duplicated; a cancelled order stays cancelled).
Customers are not notified by the platform: backroom sends its own emails. A cancellation refunds nothing and
restocks nothing on the platform: money stays a human decision, and backroom's ledger is the stock of record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from backroom.config import Settings
from backroom.connectors.shopify.client import ShopifyClient
from backroom.connectors.woocommerce.client import WooCommerceClient, woocommerce_client

#: (store id, platform) → the connected account (shop domain, site URL)
AccountOf = Callable[[int, str], str]


class PlatformClients:
    """One pooled client per connected account, made on first use and closed with the runner; shared by the
    executors that call the platforms (``client_options`` go to every client: tests use fewer attempts)."""

    def __init__(self, settings: Settings, **client_options: Any) -> None:
        self.settings = settings
        self.client_options = client_options
        self._shopify: dict[str, ShopifyClient] = {}
        self._woo: dict[str, WooCommerceClient] = {}
        self._lock = threading.Lock()  # the worker's threads share the pool: one client per account, none lost

    def shopify(self, account: str) -> ShopifyClient:
        with self._lock:
            if account not in self._shopify:
                self._shopify[account] = ShopifyClient.from_settings(self.settings.shopify, account,
                                                                     **self.client_options)
            return self._shopify[account]

    def woocommerce(self, account: str) -> WooCommerceClient:
        with self._lock:
            if account not in self._woo:
                self._woo[account] = woocommerce_client(self.settings.woocommerce, account, **self.client_options)
            return self._woo[account]

    def close(self) -> None:
        with self._lock:
            for shopify in self._shopify.values():
                shopify.close()
            for woo in self._woo.values():
                woo.close()
            self._shopify.clear()
            self._woo.clear()


class PlatformSync:
    batch_safe = True  # each call is idempotent on the platform's side (see above)

    def __init__(self, settings: Settings, account_of: AccountOf) -> None:
        self.account_of = account_of
        self.clients = PlatformClients(settings)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        platform, external_id = str(payload["platform"]), str(payload["external_id"])
        account = self.account_of(int(payload["store_id"]), platform)
        cancel = "reason" in payload
        if platform == "shopify":
            shopify = self.clients.shopify(account)
            if cancel:
                done = shopify.cancel_order(external_id, "other", restock=False, notify_customer=False, refund=False)
                return {"already_cancelled": done.already_cancelled}
            return {"fulfillment": shopify.create_fulfillment(
                external_id, str(payload["carrier"]), str(payload["tracking_number"]),
                str(payload.get("tracking_url") or ""), notify_customer=False)}
        woo = self.clients.woocommerce(account)
        if cancel:
            return {"cancelled": woo.cancel_order(external_id)}
        woo.complete_order(external_id, shipment_note(payload))
        return {"completed": True}

    def close(self) -> None:
        self.clients.close()


def shipment_note(payload: dict[str, Any]) -> str:
    parts = [f"Shipped with {payload.get('carrier') or 'the carrier'}"]
    if payload.get("tracking_number"):
        parts.append(f"tracking number {payload['tracking_number']}")
    if payload.get("tracking_url"):
        parts.append(str(payload["tracking_url"]))
    return ", ".join(parts) + " (backroom)"
