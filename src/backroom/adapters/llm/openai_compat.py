"""An OpenAI-compatible chat completions endpoint (`POST {url}/v1/chat/completions`): a hosted API or a local
server (llama.cpp, vLLM, Ollama). The key comes from the environment; failures are answered with None, so the
agent carries on without the model."""

from __future__ import annotations

import logging

import httpx

from backroom.adapters.tls import tls_context
from backroom.config import LlmSettings

log = logging.getLogger(__name__)


class ChatCompletions:
    def __init__(self, settings: LlmSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self.client = httpx.Client(verify=tls_context(), base_url=(settings.url or "").rstrip("/"),
                                   timeout=settings.timeout_s, transport=transport,
                                   headers={"Authorization": f"Bearer {key}"} if key else {})

    def complete(self, system: str, user: str) -> str | None:
        try:
            response = self.client.post("/v1/chat/completions", json={
                "model": self.settings.model, "temperature": 0, "max_tokens": self.settings.max_tokens,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]})
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as err:
            log.warning("the language model gave no answer: %s", type(err).__name__)  # never the text: it is PII
            return None
        return content if isinstance(content, str) else None

    def close(self) -> None:
        self.client.close()
