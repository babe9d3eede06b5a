"""`backroom connect shopify|woocommerce`: credentials from settings, webhooks registered through the platform's
client (a fake Shopify client; the real WooCommerce client against a function playing the site), and a report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from backroom.config import Settings, ShopifySettings, WooCommerceSettings
from backroom.connectors.shopify.manifest import SCOPES
from backroom.connectors.woocommerce.client import WooCommerceClient
from backroom.entrypoints.cli.connect import (
    NEXT_STEPS,
    STORED,
    ConnectReport,
    Remember,
    connect_shopify,
    connect_woocommerce,
    make_app,
)
from backroom.errors import ConfigurationError, InvalidInput

SHOP = "acme.myshopify.com"
SHOPIFY_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "fulfillments/create",
                  "refunds/create", "checkouts/create", "checkouts/update", "checkouts/delete", "customers/create",
                  "customers/update", "inventory_items/create", "inventory_items/update", "inventory_levels/update"]
WOO_TOPICS = ["order.created", "order.updated", "order.restored", "customer.created", "customer.updated"]
SHOPIFY_ENV = {"BACKROOM_SHOPIFY__ACCESS_TOKENS": json.dumps({SHOP: "shpat_test"}),
               "BACKROOM_SHOPIFY__WEBHOOK_SECRET": "shopify-secret", "BACKROOM_SHOPIFY__SHOPS": "{}"}
WOO_ENV = {"BACKROOM_WOOCOMMERCE__CONSUMER_KEYS": json.dumps({"shop.example.com": "ck_test"}),
           "BACKROOM_WOOCOMMERCE__CONSUMER_SECRETS": json.dumps({"shop.example.com": "cs_test"}),
           "BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET": "woo-secret", "BACKROOM_WOOCOMMERCE__SITES": "{}"}


class FakeShopify:
    """Stands in for ShopifyClient: what it was built with and asked, and a shop where orders/create exists."""

    def __init__(self) -> None:
        self.built: list[tuple[str, str]] = []
        self.asked: list[tuple[str, list[str]]] = []
        self.closed = 0

    def __call__(self, settings: ShopifySettings, shop: str) -> FakeShopify:
        self.built.append((shop, settings.access_tokens[shop].get_secret_value()))
        return self

    def __enter__(self) -> FakeShopify:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.closed += 1

    def ensure_webhooks(self, callback_url: str, topics: Sequence[str]) -> dict[str, str]:
        self.asked.append((callback_url, list(topics)))
        return {t: "exists" if t == "orders/create" else "created" for t in topics}


class FakeWooSite:
    """A WooCommerce site with no webhooks yet: records every request, creates what is POSTed."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=[], headers={"X-WP-TotalPages": "0"})
        return httpx.Response(201, json={**json.loads(request.content), "id": 140 + len(self.requests)})

    def calls(self) -> list[tuple[str, str, Any]]:
        return [(r.method, str(r.url), json.loads(r.content) if r.content else None) for r in self.requests]


def woo_factory(site: FakeWooSite, built: list[tuple[str, str, str]]) -> Any:
    def make(site_url: str, key: SecretStr, secret: SecretStr) -> WooCommerceClient:
        built.append((site_url, key.get_secret_value(), secret.get_secret_value()))
        return WooCommerceClient(site_url, key, secret, transport=httpx.MockTransport(site))
    return make


def settings_with() -> Settings:
    return Settings(
        shopify=ShopifySettings(access_tokens={SHOP: SecretStr("shpat_test")}, webhook_secret=SecretStr("s")),
        woocommerce=WooCommerceSettings(consumer_keys={"shop.example.com": SecretStr("ck_test")},
                                        consumer_secrets={"shop.example.com": SecretStr("cs_test")},
                                        webhook_secret=SecretStr("woo-secret")))


def flat(text: str) -> str:
    """Rich wraps stderr to the console's width: compare with runs of whitespace as one space."""
    return " ".join(text.split())


# -- the functions --------------------------------------------------------------------------------------------------

def test_connect_shopify_registers_the_manifests_topics_at_backrooms_webhook_url() -> None:
    fake = FakeShopify()
    report = connect_shopify(settings_with(), " Acme.MyShopify.com ", "https://backroom.example.com/", None, False,
                             fake)
    assert report == ConnectReport(
        platform="shopify", account=SHOP, store="acme", delivery_url="https://backroom.example.com/webhooks/shopify",
        webhooks={"orders/create": "exists", **dict.fromkeys(SHOPIFY_TOPICS[1:], "created")},
        access=tuple(f"Admin API scope {scope}" for scope in SCOPES), dry_run=False)
    assert fake.built == [(SHOP, "shpat_test")]
    assert fake.asked == [("https://backroom.example.com/webhooks/shopify", SHOPIFY_TOPICS)]
    assert fake.closed == 1


def test_connect_shopify_without_a_token_or_secret_names_both_variables_and_registers_nothing() -> None:
    fake = FakeShopify()
    with pytest.raises(ConfigurationError) as caught:
        connect_shopify(Settings(shopify=ShopifySettings()), SHOP, "https://backroom.example.com", None, False, fake)
    assert caught.value.message == (
        'Shopify acme.myshopify.com: set BACKROOM_SHOPIFY__ACCESS_TOKENS ({"acme.myshopify.com": "shpat_…"}); '
        "BACKROOM_SHOPIFY__WEBHOOK_SECRET (the app's client secret). Nothing was registered.")
    assert fake.built == []
    assert fake.asked == []


def test_a_dry_run_checks_settings_and_calls_no_platform() -> None:
    fake = FakeShopify()
    report = connect_shopify(settings_with(), SHOP, "https://backroom.example.com", "acme", True, fake)
    assert report.webhooks == dict.fromkeys(SHOPIFY_TOPICS, "to register")
    assert report.dry_run is True
    assert fake.built == []


def test_shopify_needs_an_https_url() -> None:
    fake = FakeShopify()
    with pytest.raises(InvalidInput) as caught:
        connect_shopify(settings_with(), SHOP, "http://localhost:8000", None, False, fake)
    assert caught.value.message == ("--url must be https:// (shopify delivers orders with customers' personal "
                                    "data)")
    assert fake.built == []


def test_a_store_other_than_where_deliveries_go_is_reported_with_the_setting_to_change() -> None:
    report = connect_shopify(settings_with(), SHOP, "https://backroom.example.com", "main", True, FakeShopify())
    assert report.store == "main"
    assert report.warnings == ("deliveries from acme.myshopify.com go to store 'acme' until you set "
                               """BACKROOM_SHOPIFY__SHOPS='{"acme.myshopify.com": "main"}'""",)


def test_connect_woocommerce_creates_each_webhook_with_the_secret_over_basic_auth() -> None:
    site, built = FakeWooSite(), list[tuple[str, str, str]]()
    report = connect_woocommerce(settings_with(), "https://shop.example.com", "https://backroom.example.com", None,
                                 False, woo_factory(site, built))
    url = "https://backroom.example.com/webhooks/woocommerce"
    assert report == ConnectReport(
        platform="woocommerce", account="shop.example.com", store="shop-example-com", delivery_url=url,
        webhooks=dict.fromkeys(WOO_TOPICS, "created"),
        access=("REST API key with Read/Write access",
                "read: orders (the reconciliation poll), products by SKU, webhooks, coupons by code",
                "write: order status and notes, product and variation stock, coupons, backroom's webhooks"),
        dry_run=False)
    assert built == [("https://shop.example.com", "ck_test", "cs_test")]
    assert site.calls() == [
        ("GET", "https://shop.example.com/wp-json/wc/v3/webhooks?per_page=100&page=1", None),
        *(("POST", "https://shop.example.com/wp-json/wc/v3/webhooks",
           {"name": f"backroom: {t}", "topic": t, "delivery_url": url, "secret": "woo-secret", "status": "active"})
          for t in WOO_TOPICS)]
    assert {r.headers["authorization"] for r in site.requests} == {"Basic Y2tfdGVzdDpjc190ZXN0"}


def test_connect_woocommerce_without_keys_names_the_variables_and_registers_nothing() -> None:
    site, built = FakeWooSite(), list[tuple[str, str, str]]()
    with pytest.raises(ConfigurationError) as caught:
        connect_woocommerce(Settings(woocommerce=WooCommerceSettings(webhook_secret=SecretStr("w"))),
                            "https://shop.example.com", "https://backroom.example.com", None, False,
                            woo_factory(site, built))
    assert caught.value.message == (
        'WooCommerce shop.example.com: set BACKROOM_WOOCOMMERCE__CONSUMER_KEYS ({"shop.example.com": "ck_…"}); '
        'BACKROOM_WOOCOMMERCE__CONSUMER_SECRETS ({"shop.example.com": "cs_…"}). Nothing was registered.')
    assert built == []
    assert site.requests == []


def test_a_public_woocommerce_site_over_plain_http_is_refused() -> None:
    site, built = FakeWooSite(), list[tuple[str, str, str]]()
    with pytest.raises(InvalidInput) as caught:
        connect_woocommerce(settings_with(), "http://shop.example.com", "https://backroom.example.com", None, False,
                            woo_factory(site, built))
    assert caught.value.message == ("--site: shop.example.com: use https:// (plain http is accepted only for a "
                                    "local test site)")
    assert site.requests == []


# -- the command ----------------------------------------------------------------------------------------------------

def keeper(kept: list[tuple[str, str, str, str]]) -> Remember:
    """Records the connections the command keeps (the real one writes them to the database)."""
    def remember(report: ConnectReport, account: str) -> None:
        kept.append((report.platform, account, report.store, report.delivery_url))
    return remember


def test_the_shopify_command_prints_what_it_did_and_what_comes_next() -> None:
    fake, kept = FakeShopify(), list[tuple[str, str, str, str]]()
    result = CliRunner().invoke(make_app(shopify_factory=fake, remember=keeper(kept)), [
        "shopify", "--shop", SHOP, "--url", "https://backroom.example.com"], env=SHOPIFY_ENV)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Shopify acme.myshopify.com → store 'acme'",
        "webhooks to https://backroom.example.com/webhooks/shopify (registered):",
        *(f"  {topic:<23}  {'exists' if topic == 'orders/create' else 'created'}" for topic in SHOPIFY_TOPICS),
        "needs:",
        *(f"  Admin API scope {scope}" for scope in SCOPES),
        STORED,
        "next:",
        *(f"  {step}" for step in NEXT_STEPS)]
    assert fake.asked == [("https://backroom.example.com/webhooks/shopify", SHOPIFY_TOPICS)]
    assert kept == [("shopify", SHOP, "acme", "https://backroom.example.com/webhooks/shopify")]
    assert "shpat_test" not in result.output


def test_the_shopify_command_without_credentials_exits_2_naming_the_variable() -> None:
    fake, kept = FakeShopify(), list[tuple[str, str, str, str]]()
    result = CliRunner().invoke(make_app(shopify_factory=fake, remember=keeper(kept)), [
        "shopify", "--shop", SHOP, "--url", "https://backroom.example.com"],
        env={**SHOPIFY_ENV, "BACKROOM_SHOPIFY__ACCESS_TOKENS": "{}"})
    assert result.exit_code == 2
    assert flat(result.stderr) == (
        'error: Shopify acme.myshopify.com: set BACKROOM_SHOPIFY__ACCESS_TOKENS ({"acme.myshopify.com": '
        '"shpat_…"}). Nothing was registered. [configuration_error]')
    assert result.stdout == ""
    assert fake.built == []
    assert kept == []


def test_the_woocommerce_command_reports_as_json() -> None:
    site, built, kept = FakeWooSite(), list[tuple[str, str, str]](), list[tuple[str, str, str, str]]()
    result = CliRunner().invoke(make_app(woocommerce_factory=woo_factory(site, built), remember=keeper(kept)), [
        "woocommerce", "--site", "https://shop.example.com/", "--url", "https://backroom.example.com",
        "--store", "acme", "--json"], env=WOO_ENV)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["account"], report["store"], report["webhooks"]) == (
        "shop.example.com", "acme", dict.fromkeys(WOO_TOPICS, "created"))
    assert report["warnings"] == ["deliveries from shop.example.com go to store 'shop-example-com' until you set "
                                  """BACKROOM_WOOCOMMERCE__SITES='{"shop.example.com": "acme"}'"""]
    assert "woo-secret" not in result.output
    assert "cs_test" not in result.output
    assert kept == [("woocommerce", "https://shop.example.com", "acme",
                     "https://backroom.example.com/webhooks/woocommerce")]


def test_the_woocommerce_command_passes_on_what_woocommerce_refused_with_exit_1() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "woocommerce_rest_cannot_view",
                                         "message": "Sorry, you cannot list resources.", "data": {"status": 401}})

    def make(site_url: str, key: SecretStr, secret: SecretStr) -> WooCommerceClient:
        return WooCommerceClient(site_url, key, secret, transport=httpx.MockTransport(refuse))

    result = CliRunner().invoke(make_app(woocommerce_factory=make, remember=keeper([])), [
        "woocommerce", "--site", "https://shop.example.com", "--url", "https://backroom.example.com"], env=WOO_ENV)
    assert result.exit_code == 1
    assert flat(result.stderr) == ("error: WooCommerce at shop.example.com: GET webhooks: answered 401 "
                                   "woocommerce_rest_cannot_view: Sorry, you cannot list resources. "
                                   "[woocommerce_rejected]")
