"""Slack through incoming webhooks: one default URL, and optionally one per channel name (a Slack incoming webhook
posts to the channel it was created for). URLs are secrets: they come from the environment, never the database;
an effect names a channel and the URL is looked up when it runs."""

from __future__ import annotations

from typing import Any

import httpx

from backroom.adapters.tls import tls_context
from backroom.config import SlackSettings
from backroom.errors import ConfigurationError, EffectFailed


class SlackSender:
    def __init__(self, settings: SlackSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self.client = httpx.Client(verify=tls_context(), timeout=settings.timeout_s, transport=transport)

    def url_for(self, channel: str) -> str:
        named = self.settings.channels.get(channel) or self.settings.channels.get(channel.lstrip("#"))
        url = named or self.settings.webhook_url
        if url is None:
            raise ConfigurationError(
                f"no Slack webhook for {channel or 'the default channel'}: set BACKROOM_SLACK__WEBHOOK_URL"
                " or BACKROOM_SLACK__CHANNELS")
        return url.get_secret_value()

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        channel = str(payload.get("channel") or "")
        body: dict[str, Any] = {"text": payload["text"]}
        if channel:
            body["channel"] = channel
        response = self.client.post(self.url_for(channel), json=body, headers={"Idempotency-Key": key})
        if response.status_code >= 300:
            raise EffectFailed(f"Slack answered {response.status_code}: {response.text[:200]}")
        return {"status": response.status_code}

    def close(self) -> None:
        old, self.client = self.client, httpx.Client(verify=tls_context(), timeout=self.settings.timeout_s,
                                                     transport=self._transport)
        old.close()
