"""Signed one-click unsubscribe links (RFC 8058): the token names the store and the address, and an HMAC-SHA256 of
both under the installation's secret proves backroom made it, so nobody can unsubscribe someone else."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from backroom.errors import SignatureInvalid

_PURPOSE = b"backroom-unsubscribe:"


def unsubscribe_token(secret: bytes, store_id: int, email: str) -> str:
    subject = f"{store_id}:{email.lower()}".encode()
    return f"{_b64(subject)}.{_b64(_mac(secret, subject))}"


def read_unsubscribe_token(secret: bytes, token: str) -> tuple[int, str]:
    """The store id and address a token was made for; SignatureInvalid when it was not made with ``secret``."""
    encoded, _, signature = token.partition(".")
    try:
        subject = _unb64(encoded)
        given = _unb64(signature)
        store, _, email = subject.decode().partition(":")
        store_id = int(store)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise SignatureInvalid("this unsubscribe link is not valid", code="unsubscribe_link_invalid") from err
    if not email or not hmac.compare_digest(given, _mac(secret, subject)):
        raise SignatureInvalid("this unsubscribe link is not valid", code="unsubscribe_link_invalid")
    return store_id, email


def _mac(secret: bytes, subject: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + subject, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
