"""The demo's Shopify leg: a Shopify store (the emulator) connected to backroom over real HTTP.

Orders placed in the shop arrive as signed webhooks, some twice, some late, some never; the reconciliation poll finds
the lost ones (and says so, as an alert would); backroom's warehouse ships everything, and each shipment goes back to
the shop as one fulfillment with its tracking.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text

from backroom.adapters.db import catalog_admin, connections
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build
from backroom.config import Settings, ShopifySettings, SmtpSettings, WarehouseSettings
from backroom.connectors.shopify.client import ShopifyClient
from backroom.connectors.shopify.manifest import SUBSCRIBED
from backroom.demo.generator import ADDRESSES, FIRST, LAST, PRODUCTS, tracking
from backroom.emulator.shopify import ShopifyEmulator
from backroom.orders import commands
from backroom.orders.handlers import BatchOutcome

SHOP = "demo-store.myshopify.com"
STORE = "demo-shopify"
#: serves backroom's API for the block and gives its base URL (the CLI passes entrypoints.api.server's)
Serve = Callable[[Backroom], AbstractContextManager[str]]


@dataclass
class ShopifyDemoResult:
    placed: int
    webhooks_sent: int
    duplicates: int
    late: int
    lost: int
    by_webhook: int  # orders in backroom before the poll
    found_by_poll: int
    in_backroom: int
    shipped: int
    fulfillments_in_shop: int  # orders with exactly one fulfillment, with backroom's tracking
    alert: str


def run_shopify_demo(settings: Settings, serve: Serve, orders: int = 30, seed: int = 7,
                     progress: Callable[[str], None] | None = None) -> ShopifyDemoResult:
    say = progress or (lambda _msg: None)
    rng = random.Random(seed)
    emulator = ShopifyEmulator(SHOP, seed=seed, duplicate_rate=0.15, reorder_rate=0.15, drop_rate=0.1)
    with emulator, MailCatcher(folder=settings.home / "demo-mail" / "shopify") as mail:
        app = build(_settings(settings, emulator, mail.port, settings.home / "warehouse" / "shopify"))
        try:
            _fresh_store(app)
            with serve(app) as url:
                say(f"Shopify emulator at {emulator.url}; backroom's webhook endpoint at {url}/webhooks/shopify")
                with ShopifyClient.from_settings(app.settings.shopify, SHOP) as client:
                    client.ensure_webhooks(f"{url}/webhooks/shopify", list(SUBSCRIBED))
                connections.save_connection(app.engine, app.store_id(STORE), "shopify", SHOP,
                                            f"{url}/webhooks/shopify", app.clock.now())
                placed = [_place(emulator, rng) for _ in range(orders)]
                emulator.flush()
                app.process_inbox()  # what the webhooks delivered (answered at once, processed just after)
                by_webhook = _count(app)
                say(f"{orders} orders placed in the shop; {by_webhook} arrived by webhook; polling for the rest")
                polls = app.reconcile_all()
                found = sum(r.created for _, r in polls if not isinstance(r, str))
                alert = next((n.notice.alert.title for n in app.check_alerts() or []
                              if n.notice.alert.kind.value == "webhooks_missed"), "")
                app.drain()  # fulfillment requests to the warehouse, confirmation emails
                shipped = _warehouse_ships(app, rng)
                app.drain()  # the fulfillments go to the shop
            fulfilled = sum(1 for order_id in placed if len(emulator.fulfillments(order_id)) == 1)
            sent = emulator.deliveries
            return ShopifyDemoResult(
                placed=orders, webhooks_sent=sum(1 for d in sent if not d.dropped),
                duplicates=sum(1 for d in sent if d.duplicated), late=sum(1 for d in sent if d.reordered),
                lost=sum(1 for d in sent if d.dropped), by_webhook=by_webhook, found_by_poll=found,
                in_backroom=_count(app), shipped=shipped, fulfillments_in_shop=fulfilled, alert=alert)
        finally:
            app.close()


def _settings(settings: Settings, emulator: ShopifyEmulator, smtp_port: int, outbox: Path) -> Settings:
    return settings.model_copy(update={
        "smtp": SmtpSettings(host="127.0.0.1", port=smtp_port, sender="Demo Store <orders@demo.example>"),
        "warehouse": WarehouseSettings(mode="csv", csv_dir=outbox),
        "shopify": ShopifySettings(webhook_secret=SecretStr(emulator.webhook_secret),
                                   access_tokens={SHOP: SecretStr(emulator.access_token)},
                                   api_urls={SHOP: emulator.url}, shops={SHOP: STORE}),
    })


def _fresh_store(app: Backroom) -> None:
    store_id = app.store_id(STORE)
    catalog_admin.reset_store(app.engine, store_id)
    main = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main warehouse", priority=10)
    catalog_admin.upsert_products(app.engine, store_id, [
        (handle, title, [catalog_admin.VariantSpec(f"{stem}-{v}", v, price) for v in variants])
        for handle, title, stem, variants, price, _ in PRODUCTS])
    catalog_admin.set_opening_stock(app.engine, store_id, [
        (f"{stem}-{v}", main, 50) for _, _, stem, variants, _, _ in PRODUCTS for v in variants])


def _place(emulator: ShopifyEmulator, rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    address = rng.choice(ADDRESSES)
    _, _, stem, variants, price, _ = rng.choice([p for p in PRODUCTS if p[5] > 5])
    return emulator.place_order(
        f"{first.lower()}.{last.lower()}@example.com", [(f"{stem}-{rng.choice(variants)}", 1, Decimal(price))],
        first_name=first, last_name=last,
        shipping_address={"address1": address["line1"], "city": address["city"], "zip": address["postal_code"],
                          "country_code": address["country"], "province_code": address.get("area", "")})


def _warehouse_ships(app: Backroom, rng: random.Random) -> int:
    with app.engine.connect() as conn:
        requested = conn.execute(text(
            "SELECT id FROM orders WHERE store_id = :s AND status = 'fulfillment_requested' ORDER BY id"),
            {"s": app.store_id(STORE)}).scalars().all()
    shipments = tuple(commands.RecordShipment(int(order_id), *tracking(rng)) for order_id in requested)
    outcome: BatchOutcome = app.handle(commands.RecordShipments(shipments), STORE)
    return outcome.applied


def _count(app: Backroom) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM orders WHERE store_id = :s"),
                                {"s": app.store_id(STORE)}).scalar_one())
