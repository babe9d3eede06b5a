"""Which connector reads a platform's webhooks: the request maps a delivery to check it can be used, and the inbox
processor maps it again from the raw body it kept, with the same function (so both always agree)."""

from __future__ import annotations

from collections.abc import Callable

from backroom.connectors import checkouts
from backroom.connectors.ignored import Ignored
from backroom.connectors.shopify import mapping as shopify
from backroom.connectors.woocommerce import mapping as woocommerce
from backroom.shared.messages import Command

WebhookMapper = Callable[[str, bytes, str], Command | Ignored]  # (topic, body, source ref) → a command, or Ignored

#: source → mapper; ``inbound-checkout`` is backroom's own checkout format (POST /inbound/checkouts)
MAPPERS: dict[str, WebhookMapper] = {"shopify": shopify.map_webhook, "woocommerce": woocommerce.map_webhook,
                                     checkouts.SOURCE: checkouts.map_checkout}


def source_ref(source: str, delivery_id: str) -> str:
    return f"{source}:{delivery_id}"
