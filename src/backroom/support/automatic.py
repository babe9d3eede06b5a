"""Email a machine sent, which the agent must not answer (RFC 3834): auto-replies, bounces, mailing lists and its
own messages coming back. Answering them could start a mail loop with another auto-responder."""

from __future__ import annotations

from collections.abc import Collection
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import parseaddr

_DAEMONS = frozenset({"mailer-daemon", "postmaster"})
_BULK = frozenset({"bulk", "junk", "list"})


def automatic_reason(raw: bytes, own_addresses: Collection[str] = ()) -> str | None:
    """Why this email is not for the agent to answer, or None when a person sent it. ``own_addresses``: the
    addresses the store's own mail is sent from (lower case)."""
    head = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    auto = str(head.get("Auto-Submitted", "no")).split(";")[0].strip().lower()
    if auto != "no" or "X-Autoreply" in head or "X-Autorespond" in head:
        return "auto_reply"
    sender = parseaddr(str(head.get("From", "")))[1].lower()
    return_path = str(head.get("Return-Path", "")).strip()
    if (sender.partition("@")[0] in _DAEMONS or return_path == "<>"
            or head.get_content_type() == "multipart/report"):
        return "bounce"
    if str(head.get("Precedence", "")).strip().lower() in _BULK or "List-Id" in head:
        return "mailing_list"
    if sender and sender in own_addresses:
        return "own_message"
    return None
