"""An order's payment as its platform reports it: which moves are news and which are older news arriving late
(webhooks come out of order), and the refunds recorded against it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from backroom.orders.model import Order, PaymentState

#: payment states that let an order be fulfilled: the money is secured
SECURED = frozenset({PaymentState.PAID, PaymentState.AUTHORIZED})
#: payment states that hold an order (validation says the same of a new order)
FAILED = frozenset({PaymentState.FAILED, PaymentState.VOIDED})

_NEXT: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.PENDING: frozenset(PaymentState) - {PaymentState.PENDING},
    PaymentState.FAILED: frozenset({PaymentState.PENDING, PaymentState.AUTHORIZED, PaymentState.PAID,
                                    PaymentState.VOIDED}),
    PaymentState.AUTHORIZED: frozenset({PaymentState.PAID, PaymentState.FAILED, PaymentState.VOIDED,
                                        PaymentState.REFUNDED}),
    PaymentState.PAID: frozenset({PaymentState.REFUNDED}),
    PaymentState.REFUNDED: frozenset(),
    PaymentState.VOIDED: frozenset(),
}


def moves_forward(current: PaymentState, reported: PaymentState) -> bool:
    """A report that would move the payment backwards (refunded → paid, paid → pending) is older news."""
    return reported in _NEXT[current]


@dataclass(frozen=True)
class RefundLine:
    sku: str
    quantity: int
    restocked: bool  # the platform put the units back in its stock


@dataclass(frozen=True)
class Refund:
    """One refund as the platform recorded it, under the platform's own id."""

    refund_id: str
    amount: Decimal
    currency: str
    reason: str = ""
    lines: tuple[RefundLine, ...] = ()
    refunded_at: datetime | None = None

    @property
    def restocked(self) -> bool:
        return any(line.restocked for line in self.lines)


def covers_order(order: Order, refunds: Iterable[Refund]) -> bool:
    """Fully refunded: every unit of every line refunded, or at least what the order's lines are worth paid back
    (in the order's currency)."""
    refunds = list(refunds)
    units: dict[str, int] = {}
    for line in (line for r in refunds for line in r.lines):
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    every_unit = bool(units) and all(units.get(sku, 0) >= qty for sku, qty in order.needs().items())
    paid_back = sum((r.amount for r in refunds if r.currency == order.currency), Decimal("0"))
    return every_unit or (order.total > 0 and paid_back >= order.total)
