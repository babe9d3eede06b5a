"""An order is credited to the last flow email the same customer got within the window before it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.unit.marketing.flow_fixtures import DAY, HOUR, T0

from backroom.marketing.attribution import Conversion, PlacedOrder, Touch, attribute

REMINDER = Touch("abandoned_checkout", "7", "flow:abandoned_checkout:enr-7:step-2", "c-1", T0)
REVIEW = Touch("post_purchase", "8", "flow:post_purchase:enr-8:step-2", "c-1", T0 + 2 * DAY)
OTHER = Touch("win_back", "9", "flow:win_back:enr-9:step-3", "c-2", T0 + 3 * DAY)


def order(at_offset: timedelta, customer: str = "c-1") -> PlacedOrder:
    return PlacedOrder("9001", customer, T0 + at_offset, Decimal("84.90"), "EUR")


def test_the_last_touch_before_the_order_gets_the_credit() -> None:
    placed = order(3 * DAY)
    credited = attribute(placed, [REMINDER, REVIEW, OTHER])
    assert credited == Conversion(placed, REVIEW)
    assert credited.flow == "post_purchase"


def test_an_order_after_the_window_is_not_credited() -> None:
    assert attribute(order(5 * DAY + timedelta(seconds=1)), [REMINDER]) is None
    assert attribute(order(5 * DAY), [REMINDER]) == Conversion(order(5 * DAY), REMINDER)  # the edge counts


def test_a_shorter_window_can_be_chosen() -> None:
    assert attribute(order(30 * HOUR), [REMINDER], window=DAY) is None
    assert attribute(order(20 * HOUR), [REMINDER], window=DAY) == Conversion(order(20 * HOUR), REMINDER)


def test_emails_after_the_order_or_to_someone_else_do_not_count() -> None:
    assert attribute(order(HOUR), [REVIEW]) is None
    assert attribute(order(3 * DAY + HOUR, customer="c-3"), [OTHER]) is None
    assert attribute(order(HOUR), []) is None
