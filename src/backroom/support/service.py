"""The support agent as a use case: a channel's message in, the agent's reply out, in one transaction with the
conversation's memory, the transcript, the audit decision, the action (a cancellation runs through the order
pipeline's own rules) and, on handover, a review item holding what a person needs to take over."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from backroom.errors import Conflict, InvalidInput
from backroom.orders import aftercare
from backroom.orders import handlers as order_handlers
from backroom.orders.model import Address
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.support.addresses import AddressParts
from backroom.support.agent import AgentPolicy, SupportAgent
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Channel, Citation, ConversationState, OrderFacts, ProductFacts, Reply, Sender
from backroom.support.ports import Interpreter, Phraser, PolicyAnswers, StoredMessage, SupportUnitOfWork

#: the automation the agent's email replies run under (`backroom automation support_emails shadow`: record them)
SUPPORT_EMAILS = "support_emails"
#: the review item a handed-over conversation waits in
SUPPORT_HANDOVER = "support_handover"
SUBJECT = "conversation"
MAX_MESSAGE_CHARS = 10_000
TRANSCRIPT = 20  # the recent messages a handover shows the person taking over
POLICY_VERSION = "2"  # 2: address changes, returns and refund status carried out by the agent
ACTOR = "support_agent"


@dataclass(frozen=True)
class SupportSettings:
    interpreter: Interpreter
    policies: PolicyAnswers
    agent: AgentPolicy = field(default_factory=AgentPolicy)
    pipeline: order_handlers.PipelineSettings = field(default_factory=order_handlers.PipelineSettings)
    phraser: Phraser | None = None  # the optional language model's rewording (support/llm.py)


@dataclass(frozen=True)
class SupportOutcome:
    conversation_id: str
    reply: Reply
    latency_ms: float


class _Tools:
    """The agent's tools over one unit of work: reads from the store's records; cancellations, address changes and
    returns through the order pipeline's own rules (stock released, warehouse told, the customer emailed) in this
    same transaction."""

    def __init__(self, uow: SupportUnitOfWork, settings: SupportSettings) -> None:
        self.uow = uow
        self.settings = settings

    def find_order(self, number: str) -> OrderFacts | None:
        found = self.uow.support_reader.order_by_number(number)
        return None if found is None else found[1]

    def recent_orders(self, email: str, limit: int = 3) -> list[OrderFacts]:
        return self.uow.support_reader.recent_orders(email, limit)

    def customer_spend(self, email: str) -> Decimal:
        return self.uow.support_reader.customer_spend(email)

    def cancel_order(self, number: str, reason: str) -> str:
        order_handlers.cancel_within(self._order_id(number), reason, ACTOR, self.uow, self.settings.pipeline)
        return "cancelled"

    def change_address(self, number: str, address: AddressParts) -> str:
        order = self.uow.orders.get(self._order_id(number))
        before = order.shipping_address
        aftercare.change_address(order, Address(before.name, address.line1, address.city, address.postal_code,
                                                address.country, address.line2, address.area, before.phone),
                                 ACTOR, self.uow)
        return "address changed"

    def start_return(self, number: str, items: tuple[tuple[str, int], ...], reason: str) -> str:
        order_id, facts = self._found(number)
        request = aftercare.start_return(self.uow.orders.get(order_id), items, facts.delivered_at, reason, ACTOR,
                                         self.settings.agent.returns, self.uow)
        return request.number

    def now(self) -> datetime:
        return self.uow.clock.now()

    def _order_id(self, number: str) -> int:
        return self._found(number)[0]

    def _found(self, number: str) -> tuple[int, OrderFacts]:
        found = self.uow.support_reader.order_by_number(number)
        if found is None:
            raise Conflict(f"order {number} not found", code="not_found")
        return found

    def find_product(self, names: tuple[str, ...]) -> ProductFacts | None:
        for name in names:
            product = self.uow.support_reader.product(name)
            if product is not None:
                return product
        return None

    def policy_answer(self, question: str) -> tuple[str, Citation] | None:
        return self.settings.policies.answer(question)


def handle_support_message(cmd: HandleSupportMessage, uow: SupportUnitOfWork,
                           settings: SupportSettings) -> SupportOutcome:
    started = time.perf_counter()
    text = _clean(cmd.text)
    channel = Channel(cmd.channel)
    sender = Sender(channel, (cmd.sender_email or "").strip().lower() or None, cmd.sender_verified, cmd.sender_name)
    with uow:
        conversation = uow.conversations.open(channel.value, cmd.conversation_id, sender.email)
        state = ConversationState.from_dict(conversation.state)
        understanding = settings.interpreter.understand(text, uow.support_reader.catalog_names())
        reply = SupportAgent(_Tools(uow, settings), settings.agent).respond(text, sender, understanding, state)
        if settings.phraser is not None and reply.handover is None:
            reply.text = settings.phraser.phrase(reply.text, text)  # kept only if it adds no fact
        latency = (time.perf_counter() - started) * 1000
        uow.conversations.add_messages(conversation, [
            StoredMessage("in", text, verified=sender.verified),
            StoredMessage("out", reply.text, reply.intents, reply.confidence, reply.actions,
                          reply.handover.value if reply.handover else None, reply.verified, reply.citations,
                          round(latency, 3))])
        newly_handed = reply.handover is not None and conversation.status != "handed_over"
        conversation.state = state.as_dict()
        conversation.status = "handed_over" if state.handed_over is not None else "open"
        uow.conversations.save(conversation, understanding.intent)
        uow.record_decision(Decision(
            f"support:{channel.value}", "support_agent", POLICY_VERSION, SUBJECT, conversation.id,
            {"intent": understanding.intent, "confidence": round(understanding.confidence, 4),
             "in_scope": understanding.in_scope, "verified": reply.verified, "turn": state.turns},
            {"actions": reply.actions, "handover": reply.handover.value if reply.handover else None,
             "citations": [f"{c.file}#{c.heading}" for c in reply.citations]}))
        if newly_handed:
            _hand_over(uow, conversation.id, uow.conversations.recent(conversation, TRANSCRIPT), reply, sender)
        if channel is Channel.EMAIL and sender.email:
            uow.request_effect(_email_reply(cmd, uow.store_id, conversation.id, state.turns, sender, reply))
        uow.commit()
    return SupportOutcome(cmd.conversation_id, reply, latency)


def _hand_over(uow: SupportUnitOfWork, conversation_id: int, transcript: Sequence[tuple[str, str]], reply: Reply,
               sender: Sender) -> None:
    reason = reply.handover.value if reply.handover else ""
    uow.request_review(ReviewRequest(
        SUPPORT_HANDOVER, SUBJECT, conversation_id,
        f"Support conversation {conversation_id}: {reason.replace('_', ' ')}",
        {"reason": reason, "summary": reply.handover_summary, "suggested_reply": reply.suggested_reply,
         "intents": reply.intents, "verified": reply.verified, "channel": sender.channel.value,
         "transcript": [{"from": "customer" if d == "in" else "agent", "text": t} for d, t in transcript]},
        ("dismiss",)))
    uow.record_event(RecordedEvent("support_handed_over", SUBJECT, conversation_id,
                                   {"reason": reason, "verified": reply.verified}))


def _email_reply(cmd: HandleSupportMessage, store_id: int, conversation_id: int, turn: int, sender: Sender,
                 reply: Reply) -> EffectRequest:
    """The reply to an inbound email, in its thread (In-Reply-To and References), sent by a worker over SMTP; its
    key (and so its Message-ID) is the conversation's turn, so a retried send is one email."""
    subject = cmd.subject or "Your message"
    references = [*cmd.references, *([cmd.message_id] if cmd.message_id else [])]
    return EffectRequest(
        "email", f"support-reply:{store_id}:{conversation_id}:{turn}", SUPPORT_EMAILS,
        {"to": sender.email, "template": "support_reply",
         "subject": subject if subject.lower().startswith("re:") else f"Re: {subject}",
         "context": {"name": sender.name or "", "text": reply.text},
         # Auto-Submitted (RFC 3834): the customer's own autoresponder does not answer the agent's reply
         "headers": {"In-Reply-To": cmd.message_id or "", "References": " ".join(references),
                     "Auto-Submitted": "auto-replied"}},
        subject_id=conversation_id)


def _clean(text: str) -> str:
    """A customer's text as data: control characters dropped, length capped; an empty message is refused."""
    kept = "".join(c for c in text if c in "\n\t" or c.isprintable())[:MAX_MESSAGE_CHARS].strip()
    if not kept:
        raise InvalidInput("the message is empty", code="empty_message")
    return kept
