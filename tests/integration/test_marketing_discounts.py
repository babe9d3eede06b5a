"""The abandoned-checkout flow's discount code created on the store's platform, over real HTTP: the Shopify emulator
(GraphQL ``discountCodeBasicCreate``) and the WooCommerce emulator (REST ``POST coupons``), real PostgreSQL, a real
local SMTP server and the simulated clock. The email that shows the code goes only once the platform has it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import HttpReceiver, TestClient, api_client, make_settings, rows, scalar
from tests.integration.test_marketing_flows import PUBLIC, SECRET, START, abandon, at, marketing
from tests.integration.test_platform_payments_refunds import SHOP, SHOPIFY_SECRET

from backroom.adapters.db import queries
from backroom.adapters.db.connections import save_connection
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build, connected_account
from backroom.config import MarketingConfig, ShopifySettings, WooCommerceSettings
from backroom.connectors.discounts import PlatformDiscounts
from backroom.customers.model import MarketingConsent
from backroom.emulator.shopify import EmulatedCustomer, EmulatedDiscount, ShopifyEmulator
from backroom.emulator.woocommerce import EmulatedCoupon, WooCommerceEmulator
from backroom.marketing.unsubscribe import unsubscribe_token
from backroom.orders.commands import RecordCustomer
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

DAY = timedelta(hours=24)
EXPIRES = START + DAY + timedelta(hours=72)  # the flow's create_discount: {percent: 10, expires_in: 72h}


@pytest.fixture
def shopify() -> Iterator[ShopifyEmulator]:
    with ShopifyEmulator(SHOP) as emulator:
        yield emulator


@pytest.fixture
def woo() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emulator:
        yield emulator


def make_app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
             shopify: ShopifyEmulator, woo: WooCommerceEmulator, connect: str | None) -> Backroom:
    """The flow on, the store's credentials for both emulators, and a connection to ``connect`` (None: none)."""
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(update={
        "marketing": MarketingConfig(enabled_flows=["abandoned_checkout"], unsubscribe_secret=SecretStr(SECRET),
                                     public_url=PUBLIC, tick_every_s=0),
        "shopify": ShopifySettings(webhook_secret=SecretStr(SHOPIFY_SECRET), shops={SHOP: "default"},
                                   access_tokens={SHOP: SecretStr(shopify.access_token)},
                                   api_urls={SHOP: shopify.url}),
        "woocommerce": WooCommerceSettings(consumer_keys={"127.0.0.1": SecretStr(woo.consumer_key)},
                                           consumer_secrets={"127.0.0.1": SecretStr(woo.consumer_secret)})})
    app = build(settings, clock=clock, migrate_schema=False)
    if connect is not None:
        account = SHOP if connect == "shopify" else woo.url
        save_connection(app.engine, app.store_id(), connect, account, f"{PUBLIC}/webhooks/{connect}", clock.now())
    return app


def one_attempt_per_run(app: Backroom) -> None:
    """The platform clients try once, so a failure reaches the effect runner (its retries, then the review queue)
    instead of being retried inside the client with real sleeps."""
    account_of = functools.partial(connected_account, app.engine, app.settings)
    app.runner.executors["platform_discount"] = PlatformDiscounts(app.settings, account_of, max_attempts=1)


@pytest.fixture
def on_shopify(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
               shopify: ShopifyEmulator, woo: WooCommerceEmulator) -> Iterator[tuple[Backroom, TestClient]]:
    app = make_app(database_url, tmp_path, mail, warehouse, clock, shopify, woo, "shopify")
    with api_client(app) as client:
        yield app, client
    app.close()


@pytest.fixture
def on_woo(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
           shopify: ShopifyEmulator, woo: WooCommerceEmulator) -> Iterator[tuple[Backroom, TestClient]]:
    app = make_app(database_url, tmp_path, mail, warehouse, clock, shopify, woo, "woocommerce")
    with api_client(app) as client:
        yield app, client
    app.close()


def local_code(app: Backroom) -> str:
    ((code, percent, expires),) = rows(app, "SELECT code, percent, expires_at FROM marketing_discounts")
    assert (percent, expires) == (10, EXPIRES)
    return str(code)


def discount_effect(app: Backroom) -> tuple[Any, ...]:
    (row,) = rows(app, "SELECT key, automation, status, attempts FROM effects WHERE kind = 'platform_discount'")
    return tuple(row)


def discount_email(mail: MailCatcher) -> list[Message]:
    return [m for m in marketing(mail) if m["Subject"] == "10% off to finish your order"]


def codes_shown(mail: MailCatcher) -> list[str]:
    """The code each discount email shows, in the order they arrived."""
    return [re.findall(r"SAVE10-[A-Z0-9]{8}", m.get_body(("plain",)).get_content())[0]  # type: ignore[union-attr]
            for m in discount_email(mail)]


def history(app: Backroom) -> list[tuple[str, str]]:
    value = scalar(app, "SELECT value FROM marketing_enrollments")
    return [(h["what"], h["reason"]) for h in value["history"]]


def test_on_shopify_the_code_is_created_once_with_its_terms_and_the_email_goes_only_after(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator, mail: MailCatcher,
        shared_data: Path) -> None:
    app, client = on_shopify
    abandon(app, client, shared_data)
    enrollment_id = scalar(app, "SELECT id FROM marketing_enrollments")
    customer_id = scalar(app, "SELECT external_id FROM customers WHERE email = 'ada@example.com'")
    at(app, timedelta(hours=1))
    assert len(marketing(mail)) == 1  # the reminder; no code yet
    assert shopify.discount_codes() == []

    at(app, DAY)  # the tick makes the code and asks Shopify for it; the worker creates it; the email waits
    code = local_code(app)
    key = f"flow:abandoned_checkout:enr-{enrollment_id}:discount"
    assert discount_effect(app) == (key, "marketing_emails", "done", 1)
    assert shopify.discount_codes() == [EmulatedDiscount(
        shopify.discount_codes()[0].id, code, f"{code} (backroom flow abandoned_checkout)", Decimal("0.1"), None,
        "2026-11-28T09:00:00Z", "2026-12-01T09:00:00Z", 1, True, (customer_id,))]
    assert discount_email(mail) == []
    assert scalar(app, "SELECT state FROM marketing_enrollments") == "deferred"
    assert history(app)[-1] == ("deferred", "discount_pending")

    at(app, DAY + timedelta(minutes=1))  # the next look: the code exists, the email goes
    (email,) = discount_email(mail)
    assert f"Here is 10% off to finish your order: {code}" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert email["Message-ID"] == f"<flow.abandoned_checkout.enr-{enrollment_id}.step-5@backroom>"
    assert scalar(app, "SELECT state FROM marketing_enrollments") == "completed"

    # at least once: the effect run again (a worker that died before recording "done") creates nothing more
    with app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE effects SET status = 'pending' WHERE kind = 'platform_discount'")
    effect_id = scalar(app, "SELECT id FROM effects WHERE kind = 'platform_discount'")
    assert app.runner.run([effect_id]) == {"done": 1}
    assert len(shopify.discount_codes()) == 1
    assert shopify.requests.count("DiscountCodeBasicCreate") == 1
    at(app, timedelta(days=5))
    assert codes_shown(mail) == [local_code(app)]
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(1,)]


def test_a_500_from_shopify_is_retried_by_the_effect_runner_and_the_code_is_created_once(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator, mail: MailCatcher,
        shared_data: Path) -> None:
    app, client = on_shopify
    one_attempt_per_run(app)
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    # the first create runs on Shopify but its answer is lost (a 502); the retry finds the code and is done
    shopify.lose_next_response("DiscountCodeBasicCreate", status=502)
    at(app, DAY)
    code = local_code(app)
    assert discount_effect(app)[2:] == ("done", 2)
    assert [d.code for d in shopify.discount_codes()] == [code]
    assert shopify.requests.count("DiscountCodeBasicCreate") == 1
    assert shopify.requests.count("DiscountCodeByCode") == 2
    assert discount_email(mail) == []
    at(app, DAY + timedelta(minutes=1))
    assert codes_shown(mail) == [local_code(app)]


def test_while_shopify_keeps_failing_the_email_waits_and_the_code_goes_to_review(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator, mail: MailCatcher,
        shared_data: Path) -> None:
    app, client = on_shopify
    one_attempt_per_run(app)
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    shopify.fail_next(500, times=3, operation="DiscountCodeByCode")  # every attempt the runner makes (max 3)
    at(app, DAY)
    assert discount_effect(app)[2:] == ("failed", 3)
    assert rows(app, "SELECT reason_code, title FROM review_items WHERE subject_type = 'effect'") == [
        ("action_failed", "platform discount failed after 3 attempts")]
    at(app, DAY + timedelta(minutes=1))
    at(app, DAY + timedelta(minutes=3))
    assert shopify.discount_codes() == []
    assert discount_email(mail) == []
    assert [reason for what, reason in history(app) if what == "deferred"] == ["discount_pending"] * 3
    assert scalar(app, "SELECT wake_at FROM marketing_enrollments") == START + DAY + timedelta(minutes=7)

    # the operator retries it: the code is created, and the next look sends the email
    with app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE effects SET status = 'pending' WHERE kind = 'platform_discount'")
    app.runner.run([scalar(app, "SELECT id FROM effects WHERE kind = 'platform_discount'")])
    assert len(shopify.discount_codes()) == 1
    at(app, DAY + timedelta(minutes=7))
    assert codes_shown(mail) == [local_code(app)]


def test_on_woocommerce_the_coupon_is_single_use_percent_expiring_and_for_the_customer_only(
        on_woo: tuple[Backroom, TestClient], woo: WooCommerceEmulator, shopify: ShopifyEmulator, mail: MailCatcher,
        shared_data: Path) -> None:
    app, client = on_woo
    one_attempt_per_run(app)
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    woo.fail_next(500)  # the first POST fails outright: the effect runner retries it
    at(app, DAY)
    code = local_code(app)
    (coupon,) = woo.coupons
    assert coupon == EmulatedCoupon(coupon.id, code, "percent", "10.00", 1, 1, ("ada@example.com",),
                                    "2026-12-01T09:00:00", f"{code} (backroom flow abandoned_checkout)",
                                    coupon.date_created_gmt)
    assert discount_effect(app)[2:] == ("done", 2)
    assert woo.requests == [("POST", "/wp-json/wc/v3/coupons")] * 2
    assert shopify.discount_codes() == []
    assert discount_email(mail) == []
    at(app, DAY + timedelta(minutes=1))
    (email,) = discount_email(mail)
    assert code in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_coupon_that_already_exists_on_woocommerce_counts_as_created(
        on_woo: tuple[Backroom, TestClient], woo: WooCommerceEmulator, mail: MailCatcher, shared_data: Path) -> None:
    app, client = on_woo
    one_attempt_per_run(app)
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    # the coupon is created, but WooCommerce's answer is lost: the retry is told the code exists, and finds it
    woo.fail_next(500, lose_response=True)
    at(app, DAY)
    code = local_code(app)
    assert [c.code for c in woo.coupons] == [code]
    assert woo.requests == [("POST", "/wp-json/wc/v3/coupons"), ("POST", "/wp-json/wc/v3/coupons"),
                            ("GET", "/wp-json/wc/v3/coupons")]
    assert discount_effect(app)[2:] == ("done", 2)
    at(app, DAY + timedelta(minutes=1))
    assert codes_shown(mail) == [local_code(app)]


def test_in_shadow_mode_nothing_is_created_on_the_platform_and_nothing_is_sent(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator, mail: MailCatcher,
        shared_data: Path) -> None:
    app, client = on_shopify
    queries.set_automation_mode(app.engine, app.store_id(), "marketing_emails", "shadow")
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    at(app, DAY)
    at(app, DAY + timedelta(minutes=1))

    assert shopify.discount_codes() == []
    assert "DiscountCodeBasicCreate" not in shopify.requests
    assert marketing(mail) == []
    assert rows(app, "SELECT kind, status FROM effects WHERE automation = 'marketing_emails' ORDER BY id") == [
        ("email", "shadowed"), ("platform_discount", "shadowed"), ("email", "shadowed")]
    assert scalar(app, "SELECT state FROM marketing_enrollments") == "completed"


def test_a_store_without_a_connection_keeps_its_code_in_backroom_and_sends_it_at_once(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
        shopify: ShopifyEmulator, woo: WooCommerceEmulator, shared_data: Path) -> None:
    app = make_app(database_url, tmp_path, mail, warehouse, clock, shopify, woo, None)
    try:
        with api_client(app) as client:
            abandon(app, client, shared_data)
            at(app, timedelta(hours=1))
            at(app, DAY)
        code = local_code(app)
        (email,) = discount_email(mail)
        assert code in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert rows(app, "SELECT count(*) FROM effects WHERE kind = 'platform_discount'") == [(0,)]
        assert shopify.discount_codes() == []
        assert woo.coupons == []
        assert "deferred" not in [what for what, _ in history(app)]
    finally:
        app.close()


# -- an unsubscribe recorded on the platform too ----------------------------------------------------------------------


def click_unsubscribe(app: Backroom, email: str = "ada@example.com") -> bool:
    return app.unsubscribe(unsubscribe_token(SECRET.encode(), app.store_id(), email))[1]


def consent_effects(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT key, automation, status, attempts FROM effects"
                                        " WHERE kind = 'platform_consent' ORDER BY id")]


def test_an_unsubscribe_through_the_link_is_recorded_on_the_customers_shopify_record_once(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator) -> None:
    app, _ = on_shopify
    ada = shopify.add_customer("ada@example.com")
    app.handle(RecordCustomer("shopify", ada, "ada@example.com", "Ada", MarketingConsent.SUBSCRIBED, None))
    clicked_at = app.clock.now()

    assert click_unsubscribe(app) is True
    app.drain()
    assert click_unsubscribe(app) is False  # already unsubscribed: nothing more to tell Shopify
    app.drain()

    assert shopify.customer(ada) == EmulatedCustomer(ada, "ada@example.com", "UNSUBSCRIBED",
                                                     clicked_at.isoformat().replace("+00:00", "Z"))
    assert consent_effects(app) == [
        (f"consent:unsubscribe:shopify-{ada}:{clicked_at.isoformat()}", "marketing_emails", "done", 1)]
    assert shopify.requests.count("CustomerEmailMarketingConsentUpdate") == 1


def test_a_customer_backroom_knows_only_by_email_is_unsubscribed_here_and_nothing_is_sent_to_shopify(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator) -> None:
    app, _ = on_shopify
    app.handle(RecordCustomer("woocommerce", "cust-7", "ada@example.com", "Ada", MarketingConsent.SUBSCRIBED, None))

    assert click_unsubscribe(app) is True
    app.drain()

    assert app.consent_of("ada@example.com") == "unsubscribed"
    assert consent_effects(app) == []
    assert "CustomerEmailMarketingConsentUpdate" not in shopify.requests


def test_in_shadow_mode_the_unsubscribe_holds_here_and_shopify_is_not_told(
        on_shopify: tuple[Backroom, TestClient], shopify: ShopifyEmulator) -> None:
    app, _ = on_shopify
    queries.set_automation_mode(app.engine, app.store_id(), "marketing_emails", "shadow")
    ada = shopify.add_customer("ada@example.com")
    app.handle(RecordCustomer("shopify", ada, "ada@example.com", "Ada", MarketingConsent.SUBSCRIBED, None))

    click_unsubscribe(app)
    app.drain()

    assert app.consent_of("ada@example.com") == "unsubscribed"
    assert [status for _, _, status, _ in consent_effects(app)] == ["shadowed"]
    assert shopify.customer(ada).marketing_state == "SUBSCRIBED"
