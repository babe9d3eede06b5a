"""What the support agent reads and says: a customer's message with who the channel says sent it, the conversation's
memory between turns, what it understood, and its reply — with the actions it took and why it handed over."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    API = "api"
    WIDGET = "widget"
    EMAIL = "email"


@dataclass(frozen=True)
class Sender:
    """Who wrote: the address an email came from, or a chat widget's session. ``verified`` means the channel
    vouches for the address (a signed widget session of a logged-in customer, an authenticated API caller); an
    email's From header alone is taken as the customer's address but an order found by it is still checked."""

    channel: Channel
    email: str | None = None
    verified: bool = False
    name: str | None = None


class Awaiting(StrEnum):
    ORDER_NUMBER = "order_number"  # asked which order
    VERIFICATION = "verification"  # asked for the order's email or postal code
    CONFIRMATION = "confirmation"  # asked "shall I …?" and waits for an explicit yes
    ADDRESS = "address"  # asked for the new delivery address
    ITEMS = "items"  # asked which items of the order to return


class HandoverReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    OUT_OF_SCOPE = "out_of_scope"
    ASKED_FOR_HUMAN = "asked_for_human"
    FRUSTRATED = "frustrated"
    LEGAL_OR_DISPUTE = "legal_or_dispute"
    HIGH_VALUE = "high_value"
    REPEATED_CONTACT = "repeated_contact"
    NEEDS_A_PERSON = "needs_a_person"  # in scope, but the agent has no tool for it (or policy says a person decides)
    VERIFICATION_FAILED = "verification_failed"


@dataclass
class ConversationState:
    """The agent's memory between turns of one conversation (stored as JSON with the conversation)."""

    verified_email: str | None = None
    awaiting: Awaiting | None = None
    intent: str | None = None  # the intent the agent is gathering details for
    order_number: str | None = None  # the order under discussion
    pending: dict[str, Any] | None = None  # the action waiting for "yes": {"kind": "cancel_order", "order": "#1001"}
    turns: int = 0
    unresolved_turns: int = 0  # turns in a row the agent could not move forward
    failed_verifications: int = 0
    handed_over: HandoverReason | None = None
    request: str | None = None  # the customer's request while the agent gathers the order and proof for it
    offered: list[str] = field(default_factory=list)  # an email or postal code given before the order number

    def as_dict(self) -> dict[str, Any]:
        return {"verified_email": self.verified_email, "awaiting": self.awaiting, "intent": self.intent,
                "order_number": self.order_number, "pending": self.pending, "turns": self.turns,
                "unresolved_turns": self.unresolved_turns, "failed_verifications": self.failed_verifications,
                "handed_over": self.handed_over, "request": self.request, "offered": self.offered}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        awaiting, handed = data.get("awaiting"), data.get("handed_over")
        return cls(data.get("verified_email"), Awaiting(awaiting) if awaiting else None, data.get("intent"),
                   data.get("order_number"), data.get("pending"), int(data.get("turns", 0)),
                   int(data.get("unresolved_turns", 0)), int(data.get("failed_verifications", 0)),
                   HandoverReason(handed) if handed else None, data.get("request"), list(data.get("offered", [])))


@dataclass(frozen=True)
class Understanding:
    """What the language layer made of one message: intents best first with a confidence, and the entities."""

    intent: str
    confidence: float
    in_scope: bool
    order_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
    products: tuple[str, ...] = ()  # catalog names the message mentions, best first
    affirmative: bool = False
    negative: bool = False
    other_intents: tuple[str, ...] = ()  # further intents in the same message ("where is it, and can I return …")
    text: str = ""  # the message as the language layer read it (normalised, glossed into English); "" = as written


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class RefundFacts:
    amount: Decimal
    currency: str
    refunded_at: datetime | None


@dataclass(frozen=True)
class ReturnFacts:
    number: str
    status: str  # requested, received, refunded, rejected
    requested_at: datetime
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class OrderFacts:
    """An order as the agent may speak of it — only ever to its verified owner."""

    number: str
    email: str
    postal_code: str
    status: str  # backroom's order status
    placed_at: datetime
    total: Decimal
    currency: str
    items: tuple[tuple[str, int], ...]  # (title, quantity)
    shipments: tuple[Shipment, ...] = ()
    delivered_at: datetime | None = None
    expected_by: date | None = None
    country: str = ""  # of the delivery address (ISO code)
    refunds: tuple[RefundFacts, ...] = ()
    returns: tuple[ReturnFacts, ...] = ()
    tags: tuple[str, ...] = ()  # the order's tags (a rule's tag_order), e.g. "vip"

    @property
    def fulfilled(self) -> bool:
        return self.status in ("shipped", "delivered")


@dataclass(frozen=True)
class ProductFacts:
    name: str
    available: int
    price: Decimal | None
    currency: str
    details: str = ""
    restock_on: date | None = None


@dataclass(frozen=True)
class Citation:
    file: str
    heading: str


@dataclass
class Reply:
    """What the agent answers to one message: the text, what it understood, what it did, and whether (and why) a
    person takes over. Every field is part of the message API's answer, so any evaluation can be scripted."""

    text: str
    intents: list[str]
    confidence: float
    actions: list[dict[str, Any]] = field(default_factory=list)
    handover: HandoverReason | None = None
    handover_summary: str = ""
    suggested_reply: str = ""
    verified: bool = False
    citations: list[Citation] = field(default_factory=list)
