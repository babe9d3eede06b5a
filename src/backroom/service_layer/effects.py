"""Effects: what a handler asks the outside world to do. Written in the same transaction as the state change,
run at least once by workers, made exactly-once by the idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EffectStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    SHADOWED = "shadowed"
    CANCELLED = "cancelled"


class AutomationMode(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"
    OFF = "off"


@dataclass(frozen=True)
class EffectRequest:
    kind: str
    key: str
    automation: str
    payload: dict[str, Any] = field(default_factory=dict)
    subject_id: int | None = None


class PermanentEffectError(Exception):
    """The receiver refused for good (an SMTP 5xx): trying again cannot help. The effect runner fails the effect
    after this one attempt (to the review queue, like any effect that gave up), without retries."""


class AddressNotSupported(PermanentEffectError):
    """The way out cannot carry this address (a mailbox name that is not ASCII, to a mail server without SMTPUTF8):
    nothing was sent, and no retry can help."""


class RecipientRefused(PermanentEffectError):
    """The mail server refused an email's recipient for good; ``hard_bounce``: the refusal says the address itself
    does not take mail (marketing/bounces.py), so it is suppressed in the transaction that fails the effect."""

    def __init__(self, recipient: str, smtp_code: int, reply: str, *, hard_bounce: bool) -> None:
        # the text names the code only: it ends up in the effect's last_error and the review item
        super().__init__(f"the mail server refused the recipient ({smtp_code})")
        self.recipient = recipient
        self.smtp_code = smtp_code
        self.reply = reply
        self.hard_bounce = hard_bounce
