"""Suppliers: order days, the review period they add to the lead time, and what each SKU inherits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backroom.errors import InvalidInput
from backroom.replenishment.policy import Supply
from backroom.replenishment.suppliers import Supplier, SupplierItem, format_order_days, parse_order_days

FRIDAY = date(2026, 11, 27)


def test_order_days_parse_from_names_and_print_back() -> None:
    assert parse_order_days("Mon, thursday") == (0, 3)
    assert parse_order_days("") == ()
    assert format_order_days((0, 3)) == "mon,thu"
    assert format_order_days(()) == "any"
    with pytest.raises(InvalidInput) as err:
        parse_order_days("mon,fry")
    assert err.value.message == "unknown order day 'fry': use mon, tue, wed, thu, fri, sat, sun"


def test_the_next_order_day_sets_the_review_period() -> None:
    daily = Supplier("A", "A", "a@x.example", 7)
    mon_thu = Supplier("B", "B", "b@x.example", 7, order_days=(0, 3))
    assert (daily.takes_orders_on(FRIDAY), daily.days_to_next_order_day(FRIDAY)) == (True, 1)
    assert (mon_thu.takes_orders_on(FRIDAY), mon_thu.days_to_next_order_day(FRIDAY)) == (False, 3)
    assert mon_thu.days_to_next_order_day(date(2026, 11, 30)) == 3  # Monday → Thursday


def test_a_supplier_with_impossible_terms_is_refused_with_every_problem() -> None:
    with pytest.raises(InvalidInput) as err:
        Supplier("X", "X", "nobody", 0, moq=0)
    assert err.value.message == ("supplier X: email 'nobody' is not an address; lead time must be > 0 days and its "
                                 "variability ≥ 0; MOQ and pack multiple must be ≥ 1")


def test_an_item_inherits_the_suppliers_terms_unless_it_has_its_own() -> None:
    supplier = Supplier("A", "A", "a@x.example", 10, 3, moq=12, pack_multiple=6, order_cycle_days=21)
    assert SupplierItem("MUG", "A", Decimal("2")).supply(supplier) == Supply(10, 3, 12, 6, 21)
    assert SupplierItem("MUG", "A", Decimal("2"), moq=1, pack_multiple=1, lead_time_days=4).supply(supplier) == \
        Supply(4, 3, 1, 1, 21)
    with pytest.raises(InvalidInput):
        SupplierItem("MUG", "A", Decimal("-1"))
