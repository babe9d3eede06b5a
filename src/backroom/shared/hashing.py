"""Stable content hashes (ids for inputs that carry none of their own) and HMAC signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256, the same shape Shopify uses, so one verifier serves every signed input."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())
