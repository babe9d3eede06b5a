"""``call_webhook``: the event's context POSTed as JSON to the rule's URL, signed so the receiver can trust it.

Headers: ``X-Backroom-Signature`` (base64 HMAC-SHA256 of the raw body with BACKROOM_RULES__WEBHOOK_SECRET, the
same scheme as our fulfillment requests), ``Idempotency-Key`` (one per rule version × event × action, the same on
every retry) and ``X-Backroom-Event``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backroom.config import RulesSettings
from backroom.errors import ConfigurationError, EffectFailed
from backroom.shared.hashing import sign


class WebhookCaller:
    def __init__(self, settings: RulesSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self.client = httpx.Client(timeout=settings.webhook_timeout_s, transport=transport)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if self.settings.webhook_secret is None:
            raise ConfigurationError("call_webhook needs BACKROOM_RULES__WEBHOOK_SECRET to sign its requests")
        body = json.dumps(payload["body"], sort_keys=True, default=str).encode()
        response = self.client.post(payload["url"], content=body, headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Backroom-Event": str(payload["body"].get("event", "")),
            "X-Backroom-Signature": sign(self.settings.webhook_secret.get_secret_value(), body),
        })
        if response.status_code >= 300:
            raise EffectFailed(f"{payload['url']} answered {response.status_code}")
        return {"status": response.status_code}

    def close(self) -> None:
        old, self.client = self.client, httpx.Client(timeout=self.settings.webhook_timeout_s, transport=self._transport)
        old.close()
