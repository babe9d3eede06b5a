"""The chat widget's identity tokens: the store's own backend vouches for a logged-in customer by signing their
email and an expiry with the widget secret; the widget passes the token with each message. Without a valid token a
widget visitor is anonymous and must prove an order is theirs like anyone else.

    token = base64url(email) + "." + expiry (unix seconds) + "." + base64(HMAC-SHA256(secret, email + "|" + expiry))
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from backroom.shared.hashing import sign, signature_matches


def identity_token(secret: str, email: str, expires: datetime) -> str:
    """What the store's backend puts in its page for a logged-in customer (see docs/support.md for other languages)."""
    expiry = str(int(expires.timestamp()))
    encoded = base64.urlsafe_b64encode(email.lower().encode()).decode().rstrip("=")
    return f"{encoded}.{expiry}.{sign(secret, f'{email.lower()}|{expiry}'.encode())}"


def verified_email(secret: str, token: str | None, now: datetime) -> str | None:
    """The email a token vouches for, or None: no secret, no token, a malformed, forged or expired one."""
    if not secret or not token or token.count(".") != 2:
        return None
    encoded, expiry, signature = token.split(".")
    try:
        email = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        expires_at = int(expiry)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not signature_matches(secret, f"{email}|{expiry}".encode(), signature):
        return None
    return email if expires_at > now.timestamp() and "@" in email else None
