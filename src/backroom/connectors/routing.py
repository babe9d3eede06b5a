"""Which backroom store a platform account feeds: the one settings name for it, else one named after it.

One rule for the webhook endpoints and `backroom connect`, so both always agree.
"""

from __future__ import annotations

import re

from backroom.config import ShopifySettings, WooCommerceSettings

STORE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a store's slug, as settings and headers give it


def valid_slug(name: str) -> str | None:
    return name if STORE_SLUG.fullmatch(name) else None


def shopify_store(settings: ShopifySettings, shop: str) -> str | None:
    """``BACKROOM_SHOPIFY__SHOPS[shop]``, else the shop's subdomain (``acme.myshopify.com`` → ``acme``)."""
    return settings.shops.get(shop) or valid_slug(shop.split(".", 1)[0])


def woocommerce_store(settings: WooCommerceSettings, host: str) -> str | None:
    """``BACKROOM_WOOCOMMERCE__SITES[host]``, else the host with dashes: ``shop.example.com`` → ``shop-example-com``."""
    return settings.sites.get(host) or valid_slug(host.replace(".", "-"))
