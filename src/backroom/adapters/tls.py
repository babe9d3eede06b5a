"""One TLS context for the process's outgoing HTTPS clients (warehouse, Slack, webhooks, the LLM): httpx builds a
new one for every client it makes, and each reads the whole CA bundle (about 50 ms); the context is thread-safe and
read-only once made."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default: certifi's CA bundle, the standard verification."""
    return httpx.create_ssl_context()
