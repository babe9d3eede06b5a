"""An inbound customer email as the agent reads it: who sent it, which thread it belongs to, and only the new text
(the quoted earlier messages below a reply are cut off, so the agent does not answer its own words again)."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr

from backroom.errors import InvalidInput

_QUOTE_START = re.compile(
    r"^(>|On .{0,200}wrote:\s*$|Le .{0,200}a écrit\s*:|Am .{0,200}schrieb .{0,200}:|El .{0,200}escribió:|"
    r"-{2,}\s*Original Message\s*-{2,}|From: .+@.+)", re.I)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class InboundEmail:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    thread_id: str  # the first message of the thread: the conversation every reply joins
    references: tuple[str, ...]  # the thread so far, oldest first, ending with this message's parent


def parse_inbound(raw: bytes) -> InboundEmail:
    """A raw RFC 822 message → what the agent needs; a message without a sender or any text is refused."""
    msg = email.message_from_bytes(raw, policy=default_policy)
    if not isinstance(msg, EmailMessage):
        raise InvalidInput("not an email message", code="invalid_email")
    name, address = parseaddr(str(msg.get("From", "")))
    if "@" not in address:
        raise InvalidInput("the email has no sender address", code="invalid_email")
    references = tuple(_MESSAGE_ID.findall(str(msg.get("References", ""))))
    parent = _MESSAGE_ID.findall(str(msg.get("In-Reply-To", "")))
    if parent and (not references or references[-1] != parent[0]):
        references += (parent[0],)
    own = _MESSAGE_ID.findall(str(msg.get("Message-ID", "")))
    message_id = own[0] if own else ""
    body = msg.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    if body is not None and body.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    text = new_text(str(content))
    if not text:
        raise InvalidInput("the email has no text", code="empty_message")
    thread = references[0] if references else (message_id or f"<{address.lower()}>")
    return InboundEmail(message_id, address.lower(), name, str(msg.get("Subject", "")).strip(), text, thread,
                        references)


def new_text(body: str) -> str:
    """The lines above the quoted part of a reply (and above a "-- " signature)."""
    kept: list[str] = []
    for line in body.splitlines():
        if line.rstrip() == "--" or _QUOTE_START.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(kept).strip()
