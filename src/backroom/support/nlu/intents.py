"""The intents the support agent tells apart, each with what a customer means by it.

The conversation engine routes on these values; anything it has no tool for (``account``, ``invoice``, …) is handed
over to a person with the intent named, so such intents exist to say *why* a person is needed, not to be answered.
"""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """What a customer's message asks for. Values are stable lower snake names (stored, logged, coded against)."""

    ORDER_STATUS = "order_status"
    """Where is my order / tracking / has it shipped / when will *my* order (parcel, item, delivery) arrive."""

    CANCEL_ORDER = "cancel_order"
    """Cancel an order (or part of it) that was placed: "cancel order 1234", "I don't want it any more"."""

    CHANGE_ORDER = "change_order"
    """Change what is in an order already placed: add, remove or swap an item, change size/colour/quantity."""

    CHANGE_ADDRESS = "change_address"
    """Set or correct the shipping/delivery address of an order or of the customer's account."""

    START_RETURN = "start_return"
    """Return or exchange an item, or get money back for it ("I want a refund", "send it back", wrong size)."""

    REFUND_STATUS = "refund_status"
    """Where is the refund I was promised / I'm still waiting for my money back / was my refund processed."""

    PRODUCT_AVAILABILITY = "product_availability"
    """Is a product (size, colour) in stock, when will it be back, can I pre-order it."""

    PRODUCT_INFO = "product_info"
    """Details about a product: sizes and fit of a specific item, materials, dimensions, care, compatibility."""

    POLICY_QUESTION = "policy_question"
    """General store policy: shipping countries/methods/costs/times, return and refund policy, cancellation fees,
    payment methods accepted, size guide, warranty — not about one of the customer's own orders."""

    PLACE_ORDER = "place_order"
    """Wants to buy: how to order, help placing an order, bulk or phone orders."""

    PAYMENT_ISSUE = "payment_issue"
    """A payment went wrong: card declined, charged twice, payment failed, checkout error on paying."""

    INVOICE = "invoice"
    """Wants an invoice or receipt, a copy of it, or a correction on it (VAT number, company name)."""

    ACCOUNT = "account"
    """Customer account: create, delete, edit details, password/login trouble, sign-up problems, switch account."""

    NEWSLETTER = "newsletter"
    """Subscribe to or unsubscribe from the newsletter / marketing e-mails."""

    FEEDBACK = "feedback"
    """Wants to leave a review, an opinion or a suggestion (not a complaint about a problem)."""

    COMPLAINT = "complaint"
    """Unhappy with the store or service and says so, or wants to file a formal complaint."""

    HUMAN_AGENT = "human_agent"
    """Asks for a person: a human, an agent, customer service, a phone number or opening hours of support."""

    GREETING = "greeting"
    """Hello / hi / good morning, with nothing else asked."""

    THANKS = "thanks"
    """Thank you / that helped, with nothing else asked."""

    GOODBYE = "goodbye"
    """Bye / that's all / nothing else, ending the conversation."""

    AFFIRM = "affirm"
    """Yes / go ahead / please do — answers a question the agent asked (confirmation in a multi-turn flow)."""

    DENY = "deny"
    """No / don't / never mind — declines what the agent proposed."""

    OUT_OF_SCOPE = "out_of_scope"
    """Not about this store at all (weather, jokes, banking, travel, recipes, homework…): handed over or declined."""


IN_SCOPE_INTENTS: frozenset[Intent] = frozenset(i for i in Intent if i is not Intent.OUT_OF_SCOPE)
