"""The order aggregate: needs, shortfall, duplicate fingerprint and the waiting-state machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.unit.orders import factories
from tests.unit.orders.factories import ADDRESS

from backroom.inventory.model import Allocation
from backroom.orders.error_codes import HUMAN_HOLDS, ReasonCode
from backroom.orders.model import (
    UNFULFILLED,
    Address,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
)

TWO_LINES = (OrderLine("MUG", 2, Decimal("12.50")), OrderLine("TEE", 1, Decimal("20.00")))


def make_order(**overrides: Any) -> Order:
    return factories.make_order(**{"lines": TWO_LINES, **overrides})


def fully_reserved(order: Order) -> Order:
    order.add_reservations(Allocation(sku, 1, qty) for sku, qty in order.needs().items())
    order.dirty = False
    return order


# --- needs / totals ----------------------------------------------------------------------------------------------


def test_needs_sums_repeated_skus_across_lines() -> None:
    # given MUG on two lines
    order = make_order(
        lines=(
            OrderLine("MUG", 2, Decimal("12.50")),
            OrderLine("TEE", 1, Decimal("20.00")),
            OrderLine("MUG", 3, Decimal("10.00"), title="Mug (gift)"),
        )
    )
    # then
    assert order.needs() == {"MUG": 5, "TEE": 1}


def test_total_is_the_exact_decimal_sum_of_lines() -> None:
    order = make_order(lines=(OrderLine("MUG", 3, Decimal("0.10")), OrderLine("TEE", 1, Decimal("0.20"))))
    assert order.total == Decimal("0.50")


def test_reference_names_the_order_id() -> None:
    assert make_order(id=42).reference == "order:42"


# --- shortfall ---------------------------------------------------------------------------------------------------


def test_shortfall_without_reservations_is_everything_needed() -> None:
    assert make_order().shortfall() == {"MUG": 2, "TEE": 1}


def test_shortfall_subtracts_reservations_across_locations() -> None:
    # given 1 MUG reserved at two locations and the TEE reserved
    order = make_order()
    order.add_reservations([Allocation("MUG", 1, 1), Allocation("TEE", 2, 1)])
    # then
    assert order.shortfall() == {"MUG": 1}


def test_fully_reserved_order_has_no_shortfall() -> None:
    order = make_order()
    order.add_reservations([Allocation("MUG", 1, 1), Allocation("MUG", 2, 1), Allocation("TEE", 1, 1)])
    assert order.shortfall() == {}


def test_add_and_take_reservations_mark_the_order_dirty() -> None:
    # given
    order = make_order()
    # when
    order.add_reservations([Allocation("MUG", 3, 2)])
    # then
    assert order.reservations == [Reservation("MUG", 3, 2)]
    assert order.dirty is True
    # when
    order.dirty = False
    taken = order.take_reservations()
    # then
    assert taken == [Reservation("MUG", 3, 2)]
    assert order.reservations == []
    assert order.dirty is True
    assert order.shortfall() == {"MUG": 2, "TEE": 1}


def test_reservation_converts_back_to_an_allocation() -> None:
    assert Reservation("MUG", 3, 2).as_allocation() == Allocation("MUG", 3, 2)


# --- fingerprint -------------------------------------------------------------------------------------------------


def test_fingerprint_is_a_32_char_hex_digest() -> None:
    fp = make_order().fingerprint()
    assert len(fp) == 32
    assert set(fp) <= set("0123456789abcdef")


def test_fingerprint_ignores_email_case_and_line_order() -> None:
    # given the same purchase typed differently
    first = make_order()
    second = make_order(
        email="ADA@Example.COM",
        lines=(OrderLine("TEE", 1, Decimal("20.00")), OrderLine("MUG", 2, Decimal("12.50"))),
    )
    # then
    assert first.fingerprint() == second.fingerprint()


def test_fingerprint_ignores_how_quantities_are_split_over_lines_and_prices() -> None:
    first = make_order()
    second = make_order(
        lines=(
            OrderLine("MUG", 1, Decimal("12.50")),
            OrderLine("TEE", 1, Decimal("18.00")),
            OrderLine("MUG", 1, Decimal("11.00")),
        )
    )
    assert first.fingerprint() == second.fingerprint()


def test_fingerprint_ignores_street_case_and_postal_code_spacing() -> None:
    first = make_order()
    second = make_order(shipping_address=replace(ADDRESS, line1="10 DOWNING ST", postal_code="sw1a1aa"))
    assert first.fingerprint() == second.fingerprint()


def test_fingerprint_ignores_who_placed_it_in_which_channel_and_when() -> None:
    first = make_order()
    second = make_order(
        external_id="ext-2", number="1002", channel="shopify", placed_at=datetime(2026, 11, 28, tzinfo=UTC)
    )
    assert first.fingerprint() == second.fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"email": "grace@example.com"},
        {"lines": (OrderLine("MUG", 3, Decimal("12.50")), OrderLine("TEE", 1, Decimal("20.00")))},
        {"lines": (OrderLine("MUG", 2, Decimal("12.50")),)},
        {"shipping_address": replace(ADDRESS, line1="11 Downing St")},
        {"shipping_address": replace(ADDRESS, postal_code="SW1A 2AA")},
    ],
    ids=["other-buyer", "other-quantity", "fewer-items", "other-street", "other-postal-code"],
)
def test_fingerprint_differs_when_buyer_items_or_destination_differ(change: dict[str, Any]) -> None:
    assert make_order().fingerprint() != make_order(**change).fingerprint()


# --- settle_status / ready_to_fulfil ------------------------------------------------------------------------------


def test_fully_reserved_order_without_holds_settles_to_reserved_and_is_ready() -> None:
    # given
    order = fully_reserved(make_order(status=OrderStatus.BACKORDERED))
    # when
    status = order.settle_status()
    # then
    assert status is OrderStatus.RESERVED
    assert order.status is OrderStatus.RESERVED
    assert order.dirty is True
    assert order.ready_to_fulfil is True


def test_order_with_shortfall_settles_to_backordered_and_is_not_ready() -> None:
    # given only the MUGs are reserved
    order = make_order()
    order.add_reservations([Allocation("MUG", 1, 2)])
    # when
    status = order.settle_status()
    # then
    assert status is OrderStatus.BACKORDERED
    assert order.ready_to_fulfil is False


@pytest.mark.parametrize("reason", sorted(HUMAN_HOLDS))
def test_human_hold_settles_to_on_hold_even_when_fully_reserved(reason: ReasonCode) -> None:
    # given
    order = fully_reserved(make_order())
    order.hold(reason)
    # when
    status = order.settle_status()
    # then
    assert status is OrderStatus.ON_HOLD
    assert order.ready_to_fulfil is False


def test_human_hold_takes_precedence_over_shortfall() -> None:
    # given nothing reserved and a high value hold
    order = make_order()
    order.hold(ReasonCode.HIGH_VALUE)
    # then
    assert order.settle_status() is OrderStatus.ON_HOLD


def test_backorder_hold_alone_does_not_put_the_order_on_hold() -> None:
    # given a backorder hold (clears itself) and all stock now reserved
    order = fully_reserved(make_order(status=OrderStatus.BACKORDERED))
    order.hold(ReasonCode.BACKORDER)
    # when
    status = order.settle_status()
    # then
    assert order.human_holds == set()
    assert status is OrderStatus.RESERVED
    assert order.ready_to_fulfil is True


def test_clearing_the_last_human_hold_releases_the_order() -> None:
    # given
    order = fully_reserved(make_order())
    order.hold(ReasonCode.HIGH_VALUE)
    order.hold(ReasonCode.DUPLICATE_ORDER)
    order.settle_status()
    # when one hold is cleared, the order still waits
    order.clear_hold(ReasonCode.HIGH_VALUE)
    assert order.settle_status() is OrderStatus.ON_HOLD
    # when the other is cleared too
    order.clear_hold(ReasonCode.DUPLICATE_ORDER)
    # then
    assert order.settle_status() is OrderStatus.RESERVED
    assert order.holds == set()


def test_human_holds_filters_out_non_human_reasons() -> None:
    order = make_order()
    for reason in (ReasonCode.BACKORDER, ReasonCode.EMAIL_FAILED, ReasonCode.PAYMENT_FAILED):
        order.hold(reason)
    assert order.human_holds == {ReasonCode.PAYMENT_FAILED}


@pytest.mark.parametrize(
    "status",
    [OrderStatus.FULFILLMENT_REQUESTED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED],
)
def test_settle_never_moves_a_fulfilled_or_closed_order_back(status: OrderStatus) -> None:
    # given an order past the waiting states, with a hold and a shortfall that would otherwise apply
    order = make_order(status=status)
    order.hold(ReasonCode.ADDRESS_INVALID)
    order.dirty = False
    # when
    result = order.settle_status()
    # then
    assert result is status
    assert order.status is status
    assert order.dirty is False
    assert order.ready_to_fulfil is False


def test_unfulfilled_states_are_exactly_the_waiting_states() -> None:
    assert frozenset({OrderStatus.ON_HOLD, OrderStatus.BACKORDERED, OrderStatus.RESERVED}) == UNFULFILLED


def test_move_to_and_with_address_mark_the_order_dirty() -> None:
    # given
    order = make_order()
    new_address = replace(ADDRESS, line1="11 Downing St")
    # when
    order.with_address(new_address)
    # then
    assert order.shipping_address == new_address
    assert order.dirty is True
    # when
    order.dirty = False
    order.move_to(OrderStatus.FULFILLMENT_REQUESTED)
    # then
    assert order.status is OrderStatus.FULFILLMENT_REQUESTED
    assert order.dirty is True


def test_address_round_trips_through_a_dict_and_blanks_missing_fields() -> None:
    # given
    full = Address("Ada", "1 St", "Town", "12345", "US", line2="Apt 2", area="CA", phone="+1 555")
    # then
    assert Address.from_dict(full.as_dict()) == full
    assert Address.from_dict({"name": "Ada", "country": "GB", "phone": None}) == Address("Ada", "", "", "", "GB")
