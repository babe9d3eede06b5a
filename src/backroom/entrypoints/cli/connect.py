"""`backroom connect …`: point a store's webhooks at this backroom (Shopify, WooCommerce) and say what else it needs.

Credentials come from settings (the environment), never from the command line. Running it again is harmless: a
webhook already there is left as it is, one WooCommerce disabled is set active again.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr

from backroom.config import Settings, ShopifySettings
from backroom.connectors.routing import STORE_SLUG, shopify_store, woocommerce_store
from backroom.connectors.shopify import manifest as shopify_manifest
from backroom.connectors.shopify.client import ShopifyClient, ShopifyError
from backroom.connectors.woocommerce import manifest as woo_manifest
from backroom.connectors.woocommerce.client import (
    KEY_PERMISSIONS,
    KEY_USES,
    WooCommerceClient,
    allows_plain_http,
    site_host,
)
from backroom.entrypoints.cli.common import EXIT_CODES, console, exit_with_error, print_json
from backroom.errors import BackroomError, ConfigurationError, InvalidInput

DRY_RUN = "to register"
STORED = ("connection: stored (`backroom connections` lists it); workers poll it for what webhooks miss and tell "
          "it what backroom does (fulfillments with tracking, cancellations)")
NEXT_STEPS = (
    "run a worker (`backroom worker`, or `backroom serve`, which runs one in-process) so orders go on to the "
    "warehouse and customers are emailed",
    "the reconciliation poll reads orders modified since the connection's cursor, catching what webhooks missed",
)


class ShopifyWebhooks(Protocol):
    def ensure_webhooks(self, callback_url: str, topics: Sequence[str]) -> dict[str, str]: ...


class WooCommerceWebhooks(Protocol):
    def ensure_webhooks(self, delivery_url: str, secret: SecretStr, topics: Sequence[str]) -> dict[str, str]: ...


ShopifyFactory = Callable[[ShopifySettings, str], AbstractContextManager[ShopifyWebhooks]]
WooCommerceFactory = Callable[[str, SecretStr, SecretStr], AbstractContextManager[WooCommerceWebhooks]]


@dataclass(frozen=True)
class ConnectReport:
    platform: str
    account: str  # the shop domain or the site's host
    store: str  # the backroom store it feeds
    delivery_url: str
    webhooks: Mapping[str, str]  # topic → created | exists | reactivated (dry run: "to register")
    access: tuple[str, ...]  # what the credentials must allow
    dry_run: bool
    warnings: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = NEXT_STEPS


def connect_shopify(settings: Settings, shop: str, url: str, store: str | None, dry_run: bool,
                    client_factory: ShopifyFactory = ShopifyClient.from_settings) -> ConnectReport:
    """Subscribe ``{url}/webhooks/shopify`` to the topics the Shopify manifest subscribes to."""
    shop = shop.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+", shop):
        raise InvalidInput(f"--shop takes the shop's domain (acme.myshopify.com), not {shop!r}", code="invalid_shop")
    emulated = shop in {k.strip().lower() for k in settings.shopify.api_urls}  # the emulator may call plain http
    delivery_url = _delivery_url(url, "shopify", https_only=not emulated)
    tokens = {k.strip().lower() for k in settings.shopify.access_tokens}
    _require({
        "BACKROOM_SHOPIFY__ACCESS_TOKENS": f'{{"{shop}": "shpat_…"}}' if shop not in tokens else None,
        "BACKROOM_SHOPIFY__WEBHOOK_SECRET": "the app's client secret" if not _set(settings.shopify.webhook_secret)
        else None,
    }, f"Shopify {shop}")
    routed = shopify_store(settings.shopify, shop)
    chosen, warnings = _store(store, routed, "BACKROOM_SHOPIFY__SHOPS", shop)
    topics = list(shopify_manifest.SUBSCRIBED)
    if dry_run:
        done = dict.fromkeys(topics, DRY_RUN)
    else:
        with client_factory(settings.shopify, shop) as client:
            done = client.ensure_webhooks(delivery_url, topics)
    return ConnectReport("shopify", shop, chosen, delivery_url, done,
                         tuple(f"Admin API scope {s}" for s in shopify_manifest.SCOPES), dry_run, warnings)


def connect_woocommerce(settings: Settings, site: str, url: str, store: str | None, dry_run: bool,
                        client_factory: WooCommerceFactory = WooCommerceClient) -> ConnectReport:
    """Create (or re-activate) a webhook at ``{url}/webhooks/woocommerce`` for each topic the WooCommerce manifest
    subscribes to, signed with BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET."""
    try:
        host = site_host(site)
    except ValueError as err:
        raise InvalidInput(f"--site: {err}", code="invalid_site") from err
    delivery_url = _delivery_url(url, "woocommerce", https_only=False)
    woo = settings.woocommerce
    keys = {k.strip().lower(): v for k, v in woo.consumer_keys.items()}
    secrets = {k.strip().lower(): v for k, v in woo.consumer_secrets.items()}
    _require({
        "BACKROOM_WOOCOMMERCE__CONSUMER_KEYS": f'{{"{host}": "ck_…"}}' if host not in keys else None,
        "BACKROOM_WOOCOMMERCE__CONSUMER_SECRETS": f'{{"{host}": "cs_…"}}' if host not in secrets else None,
        "BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET": "the secret WooCommerce signs deliveries with"
        if not _set(woo.webhook_secret) else None,
    }, f"WooCommerce {host}")
    webhook_secret = woo.webhook_secret or SecretStr("")  # set: checked just above
    routed = woocommerce_store(woo, host)
    chosen, warnings = _store(store, routed, "BACKROOM_WOOCOMMERCE__SITES", host)
    topics = list(woo_manifest.SUBSCRIBED)
    if dry_run:
        done = dict.fromkeys(topics, DRY_RUN)
    else:
        with client_factory(site, keys[host], secrets[host]) as client:
            done = client.ensure_webhooks(delivery_url, webhook_secret, topics)
    access = (f"REST API key with {KEY_PERMISSIONS} access", *KEY_USES)
    return ConnectReport("woocommerce", host, chosen, delivery_url, done, access, dry_run, warnings)


def _delivery_url(url: str, platform: str, *, https_only: bool) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"--url takes backroom's public address (https://backroom.example.com), not {url!r}",
                           code="invalid_url")
    if parts.scheme == "http" and (https_only or not allows_plain_http(host)):
        raise InvalidInput(f"--url must be https:// ({platform} delivers orders with customers' personal data)",
                           code="invalid_url")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/webhooks/{platform}"


def _require(missing: Mapping[str, str | None], what: str) -> None:
    unset = [f"{name} ({hint})" for name, hint in missing.items() if hint is not None]
    if unset:
        raise ConfigurationError(f"{what}: set {'; '.join(unset)}. Nothing was registered.")


def _set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def _store(asked: str | None, routed: str | None, setting: str, account: str) -> tuple[str, tuple[str, ...]]:
    """The store the connection is for, and a warning when webhook deliveries would land elsewhere."""
    if asked is not None and not STORE_SLUG.fullmatch(asked):
        raise InvalidInput(f"--store: not a store name: {asked!r}", code="invalid_store")
    chosen = asked or routed
    if chosen is None:
        raise ConfigurationError(f"{account} names no store: pass --store or set {setting}")
    if chosen == routed:
        return chosen, ()
    where = f"store '{routed}'" if routed else "no store"
    return chosen, (f"deliveries from {account} go to {where} until you set {setting}="
                    f"'{json.dumps({account: chosen})}'",)


def _print(report: ConnectReport, as_json: bool) -> None:
    if as_json:
        print_json(dataclasses.asdict(report))
        return
    name = {"shopify": "Shopify", "woocommerce": "WooCommerce"}[report.platform]
    width = max(len(t) for t in report.webhooks)
    lines = [
        f"{name} {report.account} → store '{report.store}'",
        f"webhooks to {report.delivery_url} ({'would register' if report.dry_run else 'registered'}):",
        *(f"  {topic:<{width}}  {outcome}" for topic, outcome in report.webhooks.items()),
        "needs:", *(f"  {line}" for line in report.access),
        *(f"warning: {line}" for line in report.warnings),
        *(() if report.dry_run else (STORED,)),
        "next:", *(f"  {line}" for line in report.next_steps),
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


#: keeps a connection (platform, account to poll and call, the report) once its webhooks are registered
Remember = Callable[[ConnectReport, str], None]


def remember_connection(report: ConnectReport, account: str) -> None:
    from backroom.adapters.db.connections import save_connection
    from backroom.entrypoints.cli.common import backroom_app

    with backroom_app() as br:
        save_connection(br.engine, br.store_id(report.store), report.platform, account, report.delivery_url,
                        br.clock.now())


def _run(connect: Callable[[], ConnectReport], as_json: bool, remember: Remember, account: str) -> None:
    try:
        report = connect()
        if not report.dry_run:
            remember(report, account)
    except BackroomError as err:
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(err, cls)), 1)
        exit_with_error(f"{err.message} [{err.code}]", code)
    except ShopifyError as err:
        exit_with_error(f"{err} [{err.code}]", 1)
    _print(report, as_json)


def make_app(shopify_factory: ShopifyFactory = ShopifyClient.from_settings,
             woocommerce_factory: WooCommerceFactory = WooCommerceClient,
             remember: Remember = remember_connection) -> typer.Typer:
    """The `connect` commands, calling the platforms through these factories and keeping the connection with
    ``remember`` (fakes in tests)."""
    app = typer.Typer(help="Connect a store: register backroom's webhooks on Shopify or WooCommerce.",
                      no_args_is_help=True)

    @app.command("shopify")
    def shopify(shop: str = typer.Option(..., "--shop", help="the shop's domain: acme.myshopify.com"),
                url: str = typer.Option(..., "--url", help="backroom's public address: https://backroom.example.com"),
                store: str | None = typer.Option(None, "--store", help="the backroom store it feeds"),
                dry_run: bool = typer.Option(False, "--dry-run", help="check settings, say what would be done"),
                as_json: bool = typer.Option(False, "--json")) -> None:
        """Subscribe the shop's webhooks (token from BACKROOM_SHOPIFY__ACCESS_TOKENS) to this backroom."""
        _run(lambda: connect_shopify(Settings(), shop, url, store, dry_run, shopify_factory), as_json, remember,
             shop.strip().lower())

    @app.command("woocommerce")
    def woocommerce(site: str = typer.Option(..., "--site", help="the site's address: https://shop.example.com"),
                    url: str = typer.Option(..., "--url", help="backroom's public address"),
                    store: str | None = typer.Option(None, "--store", help="the backroom store it feeds"),
                    dry_run: bool = typer.Option(False, "--dry-run", help="check settings, say what would be done"),
                    as_json: bool = typer.Option(False, "--json")) -> None:
        """Create the site's webhooks (keys from BACKROOM_WOOCOMMERCE__CONSUMER_KEYS / __CONSUMER_SECRETS)."""
        _run(lambda: connect_woocommerce(Settings(), site, url, store, dry_run, woocommerce_factory), as_json,
             remember, site.strip().rstrip("/"))

    return app


app = make_app()
