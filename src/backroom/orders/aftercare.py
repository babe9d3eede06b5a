"""What a customer may change about an order after placing it, by the pipeline's rules: a new delivery address while
the order has not gone to the warehouse, and a return of delivered items within the store's return window.

Both run inside the caller's transaction (the support agent's, after the customer's explicit "yes"; a person's from
the CLI or API) and re-check everything themselves: the agent's own checks are for the words it says, these are the
ones that hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backroom.errors import Conflict, InvalidInput
from backroom.orders.model import UNFULFILLED, Address, Order, OrderStatus
from backroom.orders.ports import OrdersUnitOfWork
from backroom.orders.validation import address_problems
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent

#: the automation a return's instructions email runs under (the order emails' own: it is transactional mail)
CUSTOMER_EMAILS = "customer_emails"
RETURN_REQUESTED = "return_requested"
RETURN_RECEIVED = "return_received"
ADDRESS_CHANGED = "order_address_changed"


@dataclass(frozen=True)
class ReturnRules:
    """The store's return policy as the pipeline enforces it (``BACKROOM_SUPPORT__RETURN_WINDOW_DAYS`` …)."""

    window_days: int = 30  # counted from the day the order was delivered
    #: words in an item's title that make it non-returnable (matched case-insensitively, whole words)
    excluded: tuple[str, ...] = ("gift card", "personalised", "personalized", "engraved", "custom made")

    def excludes(self, title: str) -> bool:
        words = f" {' '.join(title.lower().replace('-', ' ').split())} "
        return any(f" {word} " in words for word in self.excluded)

    def last_day(self, delivered_at: datetime) -> datetime:
        return delivered_at + timedelta(days=self.window_days)


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    title: str
    quantity: int


@dataclass
class ReturnRequest:
    """A return authorisation: the customer may send these items back under ``number``."""

    order_id: int
    order_number: str
    number: str
    lines: tuple[ReturnLine, ...]
    reason: str
    actor: str
    requested_at: datetime
    status: str = "requested"  # requested → received → refunded, or rejected
    id: int | None = field(default=None, compare=False)


def change_address(order: Order, address: Address, actor: str, uow: OrdersUnitOfWork) -> None:
    """A new delivery address for an order the warehouse has not been asked to ship yet; refused (Conflict) once it
    has (a person amends it with the warehouse) and for an address that fails the store's address checks."""
    if order.status not in UNFULFILLED:
        code = "with_warehouse" if order.status == OrderStatus.FULFILLMENT_REQUESTED else "not_changeable"
        raise Conflict(f"order {order.number} is {order.status.value}; its address can no longer be changed here",
                       code=code)
    problems = address_problems(address)
    if problems:
        raise InvalidInput("; ".join(problems), code="address_invalid")
    before = order.shipping_address.as_dict()
    order.with_address(address)
    uow.record_decision(Decision(f"address:{actor}", "order_address_change", "1", "order", order.id,
                                 {"before": before}, {"after": address.as_dict(), "actor": actor}))
    uow.record_event(RecordedEvent(ADDRESS_CHANGED, "order", order.id, {"actor": actor}))


def start_return(order: Order, wanted: Sequence[tuple[str, int]], delivered_at: datetime | None, reason: str,
                 actor: str, rules: ReturnRules, uow: OrdersUnitOfWork) -> ReturnRequest:
    """Authorise the return of ``wanted`` (item title, quantity) from a delivered order inside the return window,
    and email the customer the instructions. The same items asked for again return the open authorisation."""
    if order.status != OrderStatus.DELIVERED:
        raise Conflict(f"order {order.number} is {order.status.value}; only delivered orders can be returned",
                       code="not_delivered")
    now = uow.clock.now()
    if delivered_at is not None and now > rules.last_day(delivered_at):
        raise Conflict(f"order {order.number} was delivered more than {rules.window_days} days ago",
                       code="outside_return_window")
    by_title = {(line.title or line.sku).lower(): line for line in order.lines}  # an untitled line by its SKU
    lines: list[ReturnLine] = []
    for title, quantity in wanted:
        line = by_title.get(title.lower())
        if line is None:
            raise InvalidInput(f"order {order.number} has no item {title!r}", code="not_in_order")
        name = line.title or line.sku
        if rules.excludes(name):
            raise Conflict(f"{name} cannot be returned", code="not_returnable")
        if not 0 < quantity <= line.quantity:
            raise InvalidInput(f"{name}: between 1 and {line.quantity} can be returned", code="bad_quantity")
        lines.append(ReturnLine(line.sku, name, quantity))
    if not lines:
        raise InvalidInput("no items to return", code="no_items")
    if order.id is None:
        raise ValueError("order has no id yet")
    existing = uow.returns.of_order(order.id)
    for request in existing:
        if request.status == "requested" and set(request.lines) == set(lines):
            return request
    already = {(r.sku, r.title): 0 for r in lines}
    for request in existing:
        if request.status != "rejected":
            for r in request.lines:
                if (r.sku, r.title) in already:
                    already[(r.sku, r.title)] += r.quantity
    for r in lines:
        ordered = by_title[r.title.lower()].quantity
        if already[(r.sku, r.title)] + r.quantity > ordered:
            raise Conflict(f"{r.title}: a return for it was already started", code="already_returning")
    request = ReturnRequest(order.id, order.number, f"R{order.id}-{len(existing) + 1}", tuple(lines), reason, actor,
                            now)
    uow.returns.add(request)
    uow.record_decision(Decision(f"return:{request.number}", "return_authorisation", "1", "order", order.id,
                                 {"reason": reason, "window_days": rules.window_days,
                                  "delivered_at": delivered_at.isoformat() if delivered_at else None},
                                 {"return": request.number, "actor": actor,
                                  "lines": [[r.sku, r.quantity] for r in lines]}))
    uow.record_event(RecordedEvent(RETURN_REQUESTED, "order", order.id, {"return": request.number, "actor": actor}))
    uow.request_effect(EffectRequest(
        kind="email", key=f"email:return_started:{request.number}", automation=CUSTOMER_EMAILS, subject_id=order.id,
        payload={"template": "return_started", "to": order.email, "context": {
            "name": order.customer_name, "order_number": order.number, "return_number": request.number,
            "last_day": rules.last_day(delivered_at or now).date().isoformat(),
            "lines": [{"sku": r.sku, "title": r.title, "quantity": r.quantity} for r in lines]}}))
    return request


def mark_received(request: ReturnRequest, restock: bool, actor: str, uow: OrdersUnitOfWork) -> None:
    """The parcel arrived: received once (a second scan is refused, so stock is not booked twice)."""
    if request.status != "requested":
        raise Conflict(f"return {request.number} is {request.status}", code="return_not_open")
    request.status = "received"
    uow.returns.save(request)
    uow.record_decision(Decision(f"return:{request.number}", "return_received", "1", "order", request.order_id,
                                 {"restock": restock}, {"actor": actor,
                                                        "lines": [[r.sku, r.quantity] for r in request.lines]}))
    uow.record_event(RecordedEvent(RETURN_RECEIVED, "order", request.order_id,
                                   {"return": request.number, "restock": restock, "actor": actor}))
