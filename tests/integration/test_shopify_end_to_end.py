"""A Shopify store (the emulator) connected to backroom over real HTTP: orders placed there arrive once however
their webhooks are duplicated, reordered or lost (the reconciliation poll finds the lost ones and says so), and
backroom's shipments appear there as one fulfillment each, with tracking, however often the effect runs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from tests.conftest import WAREHOUSE_SECRET, HttpReceiver, seed_catalog, serving

from backroom.adapters.db.connections import get_connection, save_connection
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build
from backroom.config import EffectSettings, Settings, ShopifySettings, SmtpSettings, WarehouseSettings
from backroom.emulator.shopify import ShopifyEmulator
from backroom.entrypoints.api.server import serve_in_thread
from backroom.entrypoints.cli.connect import connect_shopify
from backroom.orders import commands

pytestmark = pytest.mark.integration

SHOP = "emulator.myshopify.com"
STORE = "acme"
SKUS = ("TEE-BLK-M", "MUG-OAT", "SOCK-NAVY")


@pytest.fixture
def store(database_url: str, tmp_path: Path, mail: MailCatcher) -> Iterator[tuple[Backroom, ShopifyEmulator]]:
    emulator = ShopifyEmulator(SHOP, seed=11, duplicate_rate=0.3, reorder_rate=0.3, drop_rate=0.25)
    with emulator, serving(HttpReceiver()) as warehouse:
        settings = Settings(
            database_url=database_url, home=tmp_path, smtp=SmtpSettings(host="127.0.0.1", port=mail.port),
            warehouse=WarehouseSettings(mode="http", url=warehouse.url, secret=SecretStr(WAREHOUSE_SECRET)),
            effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
            shopify=ShopifySettings(webhook_secret=SecretStr(emulator.webhook_secret),
                                    access_tokens={SHOP: SecretStr(emulator.access_token)},
                                    api_urls={SHOP: emulator.url}, shops={SHOP: STORE}))
        br = build(settings, migrate_schema=False)
        seed_catalog(br, {sku: (50, 0) for sku in SKUS}, store=STORE)
        try:
            yield br, emulator
        finally:
            br.close()


def backroom_orders(br: Backroom) -> list[tuple[str, str]]:
    with br.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT external_id, status FROM orders WHERE store_id = :s ORDER BY external_id"),
            {"s": br.store_id(STORE)})]  # type: ignore[misc]


def test_orders_arrive_once_whatever_the_webhooks_do_and_go_back_fulfilled_once(
        store: tuple[Backroom, ShopifyEmulator]) -> None:
    br, emulator = store
    with serve_in_thread(br) as url:
        report = connect_shopify(br.settings, SHOP, url, STORE, dry_run=False)
        assert report.webhooks == {t: "created" for t in (
            "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "fulfillments/create",
            "refunds/create", "checkouts/create", "checkouts/update", "checkouts/delete", "customers/create",
            "customers/update", "inventory_items/create", "inventory_items/update", "inventory_levels/update")}
        save_connection(br.engine, br.store_id(STORE), "shopify", SHOP, report.delivery_url, br.clock.now())

        placed = [emulator.place_order(f"buyer{n}@example.com", [(SKUS[n % 3], 1 + n % 2, "12.50")])
                  for n in range(20)]
        emulator.update_order(placed[0], note="gift wrap")  # an orders/updated on top
        emulator.flush()  # the held-back deliveries arrive late, after later ones
        br.process_inbox()  # each was answered once recorded; the inbox processor imports them

        sent = [d for d in emulator.deliveries if d.topic == "orders/create"]
        never = sorted({d.order_id for d in sent if d.dropped} - {d.order_id for d in sent if not d.dropped})
        assert any(d.duplicated for d in emulator.deliveries)  # the run does exercise every kind of mishap
        assert any(d.reordered for d in emulator.deliveries)
        assert never  # some orders' webhooks were lost for good
        assert [ext for ext, _ in backroom_orders(br)] == sorted(set(placed) - set(never))

        polled = br.reconcile_all()
        assert [(c.account, r.read, r.created, r.changed, r.rejected) for c, r in polled] == [  # type: ignore[union-attr]
            (SHOP, 20, len(never), 0, 0)]
        assert [ext for ext, _ in backroom_orders(br)] == sorted(placed)  # each once
        assert missed_alerts(br) == [("opened", {"created": len(never), "changed": 0, "account": SHOP})]
        again = br.reconcile_all()  # the overlap reads the same versions again: nothing happens twice
        assert [(r.read, r.created, r.changed) for _, r in again] == [(20, 0, 0)]  # type: ignore[union-attr]
        kept = get_connection(br.engine, "shopify", SHOP)
        assert kept is not None
        # the cursor is the newest update read, to the second (the orders query filters to the second)
        newest = max(o.updated_at for o in emulator.orders())
        assert kept.reconcile_cursor == newest.replace(microsecond=0)
        assert missed_alerts(br) == []  # still open: one alert while webhooks keep missing, not one per poll


        br.drain()  # fulfillment requests to the warehouse
        ids = {ext: oid for ext, oid in _order_ids(br).items()}
        shipments = tuple(commands.RecordShipment(ids[ext], "Royal Mail", f"RM{n:06d}GB",
                                                  f"https://track.example/RM{n:06d}GB")
                          for n, ext in enumerate(placed))
        outcome = br.handle(commands.RecordShipments(shipments), STORE)
        assert (outcome.applied, outcome.refused) == (20, [])
        br.drain()  # the fulfillments go to Shopify
        with br.engine.begin() as conn:  # at least once: run every platform effect a second time
            conn.execute(text("UPDATE effects SET status = 'pending' WHERE kind = 'platform_fulfillment'"))
        br.runner.run(_platform_effects(br))
        br.process_inbox()  # the fulfillments/create webhooks of those fulfillments come back: already shipped
        br.drain()

    for n, ext in enumerate(placed):
        assert [(f.company, f.number, f.url, f.notify_customer) for f in emulator.fulfillments(ext)] == [
            ("Royal Mail", f"RM{n:06d}GB", f"https://track.example/RM{n:06d}GB", False)]
    assert {status for _, status in backroom_orders(br)} == {"shipped"}


def test_an_order_cancelled_in_backroom_is_cancelled_in_shopify_and_a_cancel_from_shopify_is_not_echoed(
        store: tuple[Backroom, ShopifyEmulator]) -> None:
    br, emulator = store
    emulator.drop_rate = emulator.duplicate_rate = emulator.reorder_rate = 0.0
    with serve_in_thread(br) as url:
        report = connect_shopify(br.settings, SHOP, url, STORE, dry_run=False)
        save_connection(br.engine, br.store_id(STORE), "shopify", SHOP, report.delivery_url, br.clock.now())
        ours = emulator.place_order("ada@example.com", [("MUG-OAT", 1, Decimal("14.50"))])
        theirs = emulator.place_order("bob@example.com", [("MUG-OAT", 1, Decimal("14.50"))])
        br.process_inbox()
        br.handle(commands.CancelOrder(_order_ids(br)[ours], "out of stock", "owner"), STORE)
        emulator.cancel_order(theirs, "customer")  # cancelled in Shopify: its webhook cancels ours
        br.process_inbox()
        br.drain()

    assert emulator.order(ours).cancelled
    with br.engine.connect() as conn:
        effects = conn.execute(text(
            "SELECT o.external_id, e.status FROM effects e JOIN orders o ON o.id = e.subject_id"
            " WHERE e.kind = 'platform_cancel' ORDER BY 1")).all()
    assert [tuple(e) for e in effects] == [(ours, "done")]  # none for the order Shopify itself cancelled
    assert dict(backroom_orders(br)) == {ours: "cancelled", theirs: "cancelled"}


def missed_alerts(br: Backroom) -> list[tuple[str, dict[str, object]]]:
    """What the alert checks announce about missed webhooks right now."""
    return [(n.notice.action.value, n.notice.alert.detail) for n in br.check_alerts() or []
            if n.notice.alert.kind.value == "webhooks_missed"]


def _order_ids(br: Backroom) -> dict[str, int]:
    with br.engine.connect() as conn:
        return {r.external_id: int(r.id) for r in conn.execute(text(
            "SELECT external_id, id FROM orders WHERE store_id = :s"), {"s": br.store_id(STORE)})}


def _platform_effects(br: Backroom) -> list[int]:
    with br.engine.connect() as conn:
        return [int(i) for i in conn.execute(text(
            "SELECT id FROM effects WHERE kind = 'platform_fulfillment' ORDER BY id")).scalars()]
