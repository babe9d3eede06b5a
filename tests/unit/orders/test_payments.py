"""An order's payment as its platform reports it: which reports are news, and when refunds cover the order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.unit.orders.factories import make_order

from backroom.orders.model import OrderLine, PaymentState
from backroom.orders.payments import Refund, RefundLine, covers_order, moves_forward

P = PaymentState


@pytest.mark.parametrize(("current", "reported"), [
    (P.PENDING, P.PAID), (P.PENDING, P.AUTHORIZED), (P.PENDING, P.FAILED), (P.FAILED, P.PAID),
    (P.FAILED, P.PENDING), (P.AUTHORIZED, P.PAID), (P.AUTHORIZED, P.VOIDED), (P.AUTHORIZED, P.FAILED),
    (P.PAID, P.REFUNDED)])
def test_a_report_that_moves_the_payment_on_is_news(current: PaymentState, reported: PaymentState) -> None:
    assert moves_forward(current, reported)


@pytest.mark.parametrize(("current", "reported"), [
    (P.PAID, P.PAID), (P.PAID, P.PENDING), (P.PAID, P.AUTHORIZED), (P.PAID, P.FAILED), (P.REFUNDED, P.PAID),
    (P.VOIDED, P.PAID), (P.AUTHORIZED, P.PENDING), (P.FAILED, P.FAILED)])
def test_a_report_that_would_move_it_back_is_older_news(current: PaymentState, reported: PaymentState) -> None:
    assert not moves_forward(current, reported)


def refund(amount: str, *lines: tuple[str, int], currency: str = "GBP") -> Refund:
    return Refund("r", Decimal(amount), currency, "", tuple(RefundLine(sku, qty, False) for sku, qty in lines))


ORDER = make_order(lines=(OrderLine("MUG", 2, Decimal("12.50")), OrderLine("TEE", 1, Decimal("20.00"))))


def test_every_unit_refunded_covers_the_order_whatever_the_money() -> None:
    assert covers_order(ORDER, [refund("1.00", ("MUG", 1)), refund("1.00", ("MUG", 1), ("TEE", 1))])


def test_some_units_and_less_than_the_order_is_worth_do_not() -> None:
    assert not covers_order(ORDER, [refund("25.00", ("MUG", 2))])
    assert not covers_order(ORDER, [])


def test_money_paid_back_up_to_the_value_of_the_lines_covers_it_in_the_orders_currency_only() -> None:
    assert covers_order(ORDER, [refund("40.00"), refund("5.00")])
    assert not covers_order(ORDER, [refund("45.00", currency="USD")])
