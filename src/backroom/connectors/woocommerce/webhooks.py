"""WooCommerce webhooks: ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the raw body with the webhook's
secret), the delivery's identity (``X-WC-Webhook-Delivery-ID``), and the unsigned ping WooCommerce sends when a
webhook is created (a form-encoded ``webhook_id=N``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from backroom.shared.hashing import signature_matches

SIGNATURE_HEADER = "x-wc-webhook-signature"
_PING = re.compile(rb"^webhook_id=\d{1,20}$")


@dataclass(frozen=True)
class Delivery:
    topic: str
    source: str
    delivery_id: str | None


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    return _get(headers, SIGNATURE_HEADER) is None and bool(_PING.match(body.strip()))


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    return signature_matches(secret, body, _get(headers, SIGNATURE_HEADER))


def delivery(headers: Mapping[str, str]) -> Delivery:
    delivery_id = _get(headers, "x-wc-webhook-delivery-id")
    return Delivery(
        topic=(_get(headers, "x-wc-webhook-topic") or "").strip().lower(),
        source=(_get(headers, "x-wc-webhook-source") or "").strip().lower(),
        delivery_id=delivery_id.strip()[:200] if delivery_id else None,
    )


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
