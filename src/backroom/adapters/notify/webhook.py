"""``call_webhook``: the event's context POSTed as JSON to the rule's URL, signed so the receiver can trust it.

Headers: ``X-Backroom-Signature`` (base64 HMAC-SHA256 of the raw body with BACKROOM_RULES__WEBHOOK_SECRET, the
same scheme as our fulfillment requests), ``Idempotency-Key`` (one per rule version × event × action, the same on
every retry) and ``X-Backroom-Event``.

A rule's URL is refused when its host resolves to a loopback, private, link-local or otherwise reserved address
(the cloud metadata service at 169.254.169.254, the database next door) unless BACKROOM_RULES__WEBHOOK_ALLOW_PRIVATE
is set. Errors name the host, never the full URL (which may carry a token)."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from backroom.adapters.tls import tls_context
from backroom.config import RulesSettings
from backroom.errors import ConfigurationError, EffectFailed
from backroom.shared.hashing import sign


class WebhookCaller:
    def __init__(self, settings: RulesSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self.client = httpx.Client(verify=tls_context(), timeout=settings.webhook_timeout_s, transport=transport)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if self.settings.webhook_secret is None:
            raise ConfigurationError("call_webhook needs BACKROOM_RULES__WEBHOOK_SECRET to sign its requests")
        host = urlsplit(payload["url"]).hostname or ""
        if not self.settings.webhook_allow_private:
            refuse_private(host)
        body = json.dumps(payload["body"], sort_keys=True, default=str).encode()
        response = self.client.post(payload["url"], content=body, headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Backroom-Event": str(payload["body"].get("event", "")),
            "X-Backroom-Signature": sign(self.settings.webhook_secret.get_secret_value(), body),
        })
        if response.status_code >= 300:
            raise EffectFailed(f"{host} answered {response.status_code}")
        return {"status": response.status_code}

    def close(self) -> None:
        old, self.client = self.client, httpx.Client(verify=tls_context(), timeout=self.settings.webhook_timeout_s,
                                                     transport=self._transport)
        old.close()


def refuse_private(host: str) -> None:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as err:
        raise EffectFailed(f"cannot resolve {host}: {err}") from err
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise EffectFailed(f"refused: {host} resolves to a non-public address ({address}); set "
                               "BACKROOM_RULES__WEBHOOK_ALLOW_PRIVATE=true to allow it")
