"""What the support context needs from storage and from the language layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from backroom.orders.ports import OrdersUnitOfWork
from backroom.support.model import Citation, OrderFacts, ProductFacts, Understanding


@dataclass
class Conversation:
    id: int
    channel: str
    external_id: str
    customer_email: str | None
    state: dict[str, Any]
    status: str
    messages: int


@dataclass(frozen=True)
class StoredMessage:
    direction: str
    text: str
    intents: Sequence[str] = ()
    confidence: float | None = None
    actions: Sequence[dict[str, Any]] = ()
    handover: str | None = None
    verified: bool = False
    citations: Sequence[Citation] = ()
    latency_ms: float | None = None


class ConversationRepository(Protocol):
    def open(self, channel: str, external_id: str, customer_email: str | None) -> Conversation:
        """Load and lock the conversation, creating it on its first message."""
    def add_messages(self, conversation: Conversation, messages: Sequence[StoredMessage]) -> None: ...
    def recent(self, conversation: Conversation, limit: int) -> list[tuple[str, str]]:
        """The last ``limit`` messages as (direction, text), oldest first."""
    def save(self, conversation: Conversation, last_intent: str | None) -> None: ...


class SupportReader(Protocol):
    """Read-only facts the agent may use (the store's orders, customers, catalog, stock)."""

    def order_by_number(self, number: str) -> tuple[int, OrderFacts] | None:
        """The order with this number (as the store shows it, with or without '#') and its id."""
    def recent_orders(self, email: str, limit: int) -> list[OrderFacts]: ...
    def customer_spend(self, email: str) -> Decimal: ...
    def catalog_names(self) -> list[str]:
        """Product titles (and product — variant titles) the agent can recognise in a message."""
    def product(self, name: str) -> ProductFacts | None: ...


class SupportUnitOfWork(OrdersUnitOfWork, Protocol):
    conversations: ConversationRepository
    support_reader: SupportReader


class Interpreter(Protocol):
    """The language layer: a message (and the catalog's names, for product mentions) → an Understanding."""

    def understand(self, text: str, catalog: Sequence[str]) -> Understanding: ...


class PolicyAnswers(Protocol):
    def answer(self, question: str) -> tuple[str, Citation] | None: ...


class Phraser(Protocol):
    def phrase(self, reply: str, message: str) -> str:
        """A rewording of the agent's reply to the customer's message (or the reply itself)."""
