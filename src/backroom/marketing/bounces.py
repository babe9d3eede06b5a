"""Hard bounces: which refusals mean "this address does not take mail" (so it is suppressed), read from an SMTP
reply or a delivery status notification (RFC 3464). Only the address's own problems count: a refusal about us
(5.7.x: our IP is listed, policy) or the message (too big, content) fails that email but suppresses nobody, or one
listing would suppress every customer at that provider."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr

_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
#: permanent (5.x.x) statuses that are not about the recipient's address: mailbox full (often temporary), message
#: too long, the receiving system's state, content and media, security and policy
NOT_THE_ADDRESS = ("5.2.2", "5.2.3", "5.3.", "5.6.", "5.7.")
MAX_DETAIL = 300


@dataclass(frozen=True)
class FailedRecipient:
    """A recipient a DSN reports as failed for good (Action: failed, Status 5.x.x)."""

    email: str  # lower case
    status: str  # the enhanced status, e.g. 5.1.1
    detail: str  # the status and the remote server's diagnostic, never the message's body


def enhanced_status(reply: str) -> str | None:
    """The RFC 3463 status code an SMTP reply's text or a DSN's Status starts with (``5.1.1 user unknown`` →
    ``5.1.1``); None when it starts with none (an address like 2.3.4.5 further on is not one)."""
    found = _ENHANCED.match(reply)
    return ".".join(found.groups()) if found else None


def is_hard_bounce(status: str | None, smtp_code: int | None = None) -> bool:
    """A permanent failure that says the address itself is bad. Without an enhanced status, a 5xx reply to RCPT
    TO (``smtp_code``) counts: the server refused that recipient."""
    if status is None:
        return smtp_code is not None and 500 <= smtp_code < 600
    return status.startswith("5.") and not status.startswith(NOT_THE_ADDRESS)


def hard_bounces(raw: bytes) -> list[FailedRecipient]:
    """The recipients a delivery status notification reports as hard-bounced; [] for any other email (a person's
    message, an auto-reply, a delay notice: Action delayed or Status 4.x.x)."""
    msg = email.message_from_bytes(raw, policy=compat32)
    if msg.get_content_type() != "multipart/report" or msg.get_param("report-type") != "delivery-status":
        return []
    found: dict[str, FailedRecipient] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in _field_groups(part):
            recipient = _failed(fields)
            if recipient is not None:
                found.setdefault(recipient.email, recipient)
    return list(found.values())


def _field_groups(part: Message) -> list[Message]:
    """The per-message and per-recipient field groups (the parser reads each as a header block)."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _failed(fields: Message) -> FailedRecipient | None:
    recipient = _address(fields.get("Final-Recipient") or fields.get("Original-Recipient") or "")
    action = str(fields.get("Action", "")).strip().lower()
    status = enhanced_status(str(fields.get("Status", "")))
    if not recipient or action != "failed" or not is_hard_bounce(status):
        return None
    diagnostic = " ".join(str(fields.get("Diagnostic-Code", "")).split())
    return FailedRecipient(recipient, str(status), f"{status} {diagnostic}".strip()[:MAX_DETAIL])


def _address(field: str) -> str:
    """``rfc822; Ada@Example.com`` → ``ada@example.com``; '' for another address type or no address."""
    kind, _, value = str(field).partition(";")
    if not value.strip() or kind.strip().lower() != "rfc822":
        return ""
    address = parseaddr(value.strip())[1].lower()
    return address if "@" in address else ""
