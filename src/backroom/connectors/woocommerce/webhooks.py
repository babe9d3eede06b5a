"""WooCommerce webhooks: ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the raw body with the webhook's
secret), the delivery's identity (``X-WC-Webhook-Delivery-ID``), and the unsigned ping WooCommerce sends when a
webhook is created (a form-encoded ``webhook_id=N``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from backroom.connectors.generic import header
from backroom.shared.hashing import signature_matches

SIGNATURE_HEADER = "x-wc-webhook-signature"
_PING = re.compile(rb"^webhook_id=\d{1,20}$")


@dataclass(frozen=True)
class Delivery:
    topic: str
    source: str
    delivery_id: str | None


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    return header(headers, SIGNATURE_HEADER) is None and bool(_PING.match(body.strip()))


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    return signature_matches(secret, body, header(headers, SIGNATURE_HEADER))


def delivery(headers: Mapping[str, str]) -> Delivery:
    delivery_id = header(headers, "x-wc-webhook-delivery-id")
    return Delivery(
        topic=(header(headers, "x-wc-webhook-topic") or "").strip().lower(),
        source=(header(headers, "x-wc-webhook-source") or "").strip().lower(),
        delivery_id=delivery_id.strip()[:200] if delivery_id else None,
    )

