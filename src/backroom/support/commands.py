"""What a channel (the message API, the chat widget, an inbound email) asks of the support agent."""

from __future__ import annotations

from dataclasses import dataclass

from backroom.shared.messages import Command


@dataclass(frozen=True)
class HandleSupportMessage(Command):
    """One customer message in a conversation. ``sender_verified``: the channel vouches for ``sender_email`` (the
    From of an inbound email, a signed widget session, an authenticated API caller)."""

    channel: str
    conversation_id: str
    text: str
    sender_email: str | None = None
    sender_verified: bool = False
    sender_name: str | None = None
    #: an email's subject, own Message-ID and thread, so the reply goes back in the same thread
    subject: str | None = None
    message_id: str | None = None
    references: tuple[str, ...] = ()
