"""Shopify webhooks: the signature (base64 HMAC-SHA256 of the raw body with the app's secret, compared in
constant time) and the delivery's identity (``X-Shopify-Event-Id``, else ``X-Shopify-Webhook-Id``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backroom.connectors.generic import header
from backroom.shared.hashing import signature_matches

HMAC_HEADER = "x-shopify-hmac-sha256"


@dataclass(frozen=True)
class Delivery:
    topic: str
    shop: str
    delivery_id: str | None
    api_version: str


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    return signature_matches(secret, body, header(headers, HMAC_HEADER))


def delivery(headers: Mapping[str, str]) -> Delivery:
    event_id = header(headers, "x-shopify-event-id") or header(headers, "x-shopify-webhook-id")
    return Delivery(
        topic=(header(headers, "x-shopify-topic") or "").strip().lower(),
        shop=(header(headers, "x-shopify-shop-domain") or "").strip().lower(),
        delivery_id=event_id.strip()[:200] if event_id else None,
        api_version=header(headers, "x-shopify-api-version") or "",
    )

