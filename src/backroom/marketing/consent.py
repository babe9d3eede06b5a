"""Who may receive which kind of mail: marketing needs a "subscribed"; transactional mail ignores marketing consent;
nothing goes to an address that hard-bounced."""

from __future__ import annotations

from enum import StrEnum


class Consent(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NEVER = "never"  # never asked, or never said yes: no marketing mail


class MessageKind(StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class Refusal(StrEnum):
    """Why a message may not go; stable codes, shown in histories and funnels."""

    UNSUBSCRIBED = "unsubscribed"
    NO_MARKETING_CONSENT = "no_marketing_consent"
    BOUNCED = "bounced"


def refusal(kind: MessageKind, consent: Consent, hard_bounced: bool) -> Refusal | None:
    """None when the message may go."""
    if hard_bounced:
        return Refusal.BOUNCED
    if kind is MessageKind.TRANSACTIONAL:
        return None
    if consent is Consent.UNSUBSCRIBED:
        return Refusal.UNSUBSCRIBED
    if consent is Consent.NEVER:
        return Refusal.NO_MARKETING_CONSENT
    return None
